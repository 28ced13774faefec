//! Property tests: random JSON-RPC (malformed bytes, JSON of any shape, requests with
//! random methods and parameters) on both HTTP transports, and random arguments for every
//! tool. The daemon answers each with a result or an error — never a 5xx, a dropped
//! connection or a hang — stays healthy, and leaks no process.

use std::{
    cell::{Cell, RefCell},
    time::Duration,
};

use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use rmcp::{model::CallToolRequestParams, service::ServiceError};
use serde_json::{Value, json};

use super::{report, scale};
use crate::support::*;

/// Any JSON: scalars, arrays and objects, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Parameter names the tools know, and some they do not.
fn key() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "runtime_exec",
        "runtime_mcp",
        "runtime_args",
        "env",
        "wait_for_ready",
        "preset",
        "ready_timeout_secs",
        "image",
        "port",
        "shared",
        "job_name",
        "wait_for_deletion",
        "name",
        "url",
        "transport",
        "arguments",
        "a",
        "b",
        "text",
    ])
    .prop_map(str::to_owned);
    let other = prop::collection::vec(any::<char>(), 1..12).prop_map(String::from_iter);
    prop_oneof![3 => known, 1 => other]
}

/// A tool name: a meta tool, a mounted one, or anything.
fn tool() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = mcp_ephemeral_k8s::meta::TOOL_NAMES
        .map(String::from)
        .to_vec();
    names.extend(["t_echo", "t_add", "t_slow", "t_fail"].map(String::from));
    let other = prop::collection::vec(any::<char>(), 0..16).prop_map(String::from_iter);
    prop_oneof![4 => prop::sample::select(names), 1 => other]
}

/// A JSON-RPC message body: random bytes, any JSON, or a request of a known or random
/// method with random parameters.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let methods = prop::sample::select(vec![
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/read",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "resources/subscribe",
        "notifications/cancelled",
        "notifications/initialized",
        "nope/nope",
    ]);
    let request = (methods, json_value(), json_value()).prop_map(|(method, id, params)| {
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .unwrap()
    });
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        3 => request,
    ]
}

/// `cases` cases, failures not persisted (the failing input is in the test's output).
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A daemon for fuzzing: only the test server may run, briefly, a few at a time.
async fn fuzz_daemon() -> Process {
    Process::daemon(&[
        "--ready-timeout",
        "5",
        "--max-servers",
        "8",
        "--max-servers-per-session",
        "0",
    ])
    .await
}

#[test]
fn random_tool_arguments_get_a_result_or_an_error() {
    let scale = scale();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (daemon, meta) = rt.block_on(async {
        let daemon = fuzz_daemon().await;
        let meta = http_client(&daemon.url("/mcp")).await;
        let (server, _) = create_ready(&meta, test_server("")).await;
        let mount = json!({"job_name": server["job_name"], "name": "t"});
        call_ok(&meta, "mount_mcp_server", mount).await;
        (daemon, meta)
    });
    let (results, errors) = (Cell::new(0usize), Cell::new(0usize));
    let mut runner = TestRunner::new(config(scale.fuzz_cases));
    let strategy = (
        tool(),
        prop::collection::btree_map(key(), json_value(), 0..6),
    );
    let outcome = runner.run(&strategy, |(name, arguments)| {
        let mut params = CallToolRequestParams::new(name.clone());
        params.arguments = Some(arguments.into_iter().collect());
        let call =
            async { tokio::time::timeout(Duration::from_secs(30), meta.call_tool(params)).await };
        let answer = rt.block_on(call);
        match answer {
            Ok(Ok(_)) => results.set(results.get() + 1),
            Ok(Err(ServiceError::McpError(_))) => errors.set(errors.get() + 1),
            Ok(Err(other)) => return Err(TestCaseError::fail(format!("{name}: {other}"))),
            Err(_) => return Err(TestCaseError::fail(format!("{name}: no answer in 30 s"))),
        }
        Ok(())
    });
    let leaked = rt.block_on(async {
        // Whatever the fuzzing created is deleted, then the daemon stops.
        let servers = call_ok(&meta, "list_mcp_servers", json!({})).await;
        let mut groups = Vec::new();
        for server in servers["result"].as_array().unwrap() {
            let job = json!({"job_name": server["job_name"]});
            let status = call(&meta, "get_mcp_server_status", job.clone()).await;
            if let Some(structured) = status.structured_content {
                groups.extend(process_groups(&structured));
            }
            call(&meta, "delete_mcp_server", job).await;
        }
        drop(meta);
        assert!(daemon.stop().await.success());
        groups.iter().flat_map(|g| group(*g)).count()
    });
    report(
        "fuzzed tool arguments",
        &[
            (
                "tool calls with random arguments",
                scale.fuzz_cases.to_string(),
            ),
            (
                "answered with a result (incl. tool errors)",
                results.get().to_string(),
            ),
            ("answered with a protocol error", errors.get().to_string()),
            ("processes leaked", leaked.to_string()),
        ],
    );
    outcome.unwrap();
    assert_eq!(leaked, 0);
}

/// Opens a streamable HTTP session with raw requests; returns its id.
async fn raw_session(http: &reqwest::Client, url: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}});
    let response = post_json(http, url, None, serde_json::to_vec(&init).unwrap()).await;
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    post_json(
        http,
        url,
        Some(&session),
        serde_json::to_vec(&initialized).unwrap(),
    )
    .await;
    session
}

async fn post_json(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .timeout(Duration::from_secs(30))
        .body(body);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request
        .send()
        .await
        .expect("an answer, not a dropped connection")
}

#[test]
fn malformed_json_rpc_gets_refused_cleanly_on_both_transports() {
    let scale = scale();
    let rt = tokio::runtime::Runtime::new().unwrap();
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let (daemon, session, sse, endpoint) = rt.block_on(async {
        let daemon = fuzz_daemon().await;
        let session = raw_session(&http, &daemon.url("/mcp")).await;
        // A legacy SSE session whose stream is drained, so it never fills up.
        let mut sse =
            mcp_ephemeral_k8s::sse::client::SseClientTransport::connect(&daemon.url("/sse"))
                .await
                .unwrap();
        let endpoint = sse.endpoint().to_owned();
        let sse = tokio::spawn(async move {
            use rmcp::transport::Transport;
            while sse.receive().await.is_some() {}
        });
        (daemon, session, sse, endpoint)
    });
    let statuses = RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let mut runner = TestRunner::new(config(scale.fuzz_cases));
    let outcome = runner.run(&(body(), any::<bool>()), |(body, to_sse)| {
        let status = rt.block_on(async {
            if to_sse {
                let response = http
                    .post(&endpoint)
                    .header("content-type", "application/json")
                    .timeout(Duration::from_secs(30))
                    .body(body)
                    .send()
                    .await;
                response.expect("an answer").status()
            } else {
                post_json(&http, &daemon.url("/mcp"), Some(&session), body)
                    .await
                    .status()
            }
        });
        *statuses.borrow_mut().entry(status.as_u16()).or_default() += 1;
        prop_assert!(!status.is_server_error(), "{status}");
        Ok(())
    });
    let healthy = rt.block_on(async {
        let meta = http_client(&daemon.url("/mcp")).await;
        let names = tool_names(&meta).await;
        drop(meta);
        sse.abort();
        !names.is_empty() && daemon.stop().await.success()
    });
    let statuses: Vec<String> = statuses
        .into_inner()
        .iter()
        .map(|(s, n)| format!("{s}×{n}"))
        .collect();
    report(
        "fuzzed JSON-RPC",
        &[
            (
                "random messages posted (/mcp and /messages/)",
                scale.fuzz_cases.to_string(),
            ),
            ("HTTP statuses", statuses.join(", ")),
            ("daemon healthy afterwards", healthy.to_string()),
        ],
    );
    outcome.unwrap();
    assert!(healthy);
}
