//! The era bridge through a mount: a 2026-07-28 client calls a mounted tool of a server of an
//! older revision that asks its client things (sampling, roots, elicitation) while serving
//! the call; the daemon asks through `input_required` results and hands the answers back.

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResponse, InputRequest};
use serde_json::{Value, json};

use super::{modern_client, modern_client_as};
use crate::support::*;

fn params(name: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    CallToolRequestParams::new(name.to_owned()).with_arguments(arguments)
}

/// A daemon with a shared test server mounted as `t` by `token`'s principal (anonymous
/// without one).
async fn mounted(extra: &[&str], token: Option<&str>) -> Process {
    let daemon = Process::daemon(extra).await;
    let url = daemon.url("/mcp");
    let legacy = match token {
        Some(token) => http_client_as(&url, token).await,
        None => http_client(&url).await,
    };
    let mut shared = test_server("");
    shared["shared"] = json!(true);
    let (server, _) = create_ready(&legacy, shared).await;
    let mount = json!({"job_name": server["job_name"], "name": "t"});
    call_ok(&legacy, "mount_mcp_server", mount).await;
    daemon
}

#[tokio::test]
async fn a_modern_client_answers_an_older_servers_sampling_and_roots_through_input_required() {
    let daemon = mounted(&[], None).await;
    let client = modern_client(&daemon.url("/mcp")).await;
    // rmcp's client answers each input_required with its handler and retries.
    let sampled = client
        .call_tool(params("t_sample", json!({"text": "hi"})))
        .await
        .unwrap();
    assert_eq!(text(&sampled), "sampled: hi");
    let roots = client
        .call_tool(params("t_roots", json!({})))
        .await
        .unwrap();
    assert_eq!(text(&roots), r#"["file:///sampled"]"#);
    assert_eq!(client.service().seen().sampled, ["hi"]);
}

#[tokio::test]
async fn a_request_state_is_sealed_bound_to_its_caller_good_once_and_expires() {
    let tokens = TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"));
    let flags = ["--tokens-file", tokens.path(), "--call-timeout", "3"];
    let daemon = mounted(&flags, Some(ALICE)).await;
    let url = daemon.url("/mcp");
    let alice = modern_client_as(&url, ALICE).await;
    let bob = modern_client_as(&url, BOB).await;
    let ask = params("t_sample", json!({"text": "x"}));
    let CallToolResponse::InputRequired(asked) =
        alice.peer().call_tool_once(ask.clone()).await.unwrap()
    else {
        panic!("the server's sampling request comes back as input_required")
    };
    let requests = asked.input_requests.unwrap();
    let (key, request) = requests.iter().next().unwrap();
    assert!(
        matches!(request, InputRequest::CreateMessage(_)),
        "{request:?}"
    );
    let state = asked.request_state.unwrap();
    let answer =
        json!({"role": "assistant", "content": {"type": "text", "text": "answered"}, "model": "m"});
    let retry = |state: &str, tool: &str| {
        let mut retry = params(tool, json!({"text": "x"}));
        retry.input_responses = Some([(key.clone(), answer.clone())].into());
        retry.request_state = Some(state.to_owned());
        retry
    };
    let refused = |result: Result<CallToolResponse, rmcp::ServiceError>| match result {
        Err(rmcp::ServiceError::McpError(e)) => e.message.to_string(),
        other => panic!("not refused: {other:?}"),
    };
    // Altered, someone else's, or for another tool: refused, and the call still waits.
    let mut altered = state.clone();
    let last = if altered.ends_with('0') { "1" } else { "0" };
    altered.replace_range(altered.len() - 1.., last);
    let message = refused(
        alice
            .peer()
            .call_tool_once(retry(&altered, "t_sample"))
            .await,
    );
    assert!(
        message.contains("requestState is not one this daemon gave you"),
        "{message}"
    );
    let message = refused(bob.peer().call_tool_once(retry(&state, "t_sample")).await);
    assert!(
        message.contains("requestState is not one this daemon gave you"),
        "{message}"
    );
    let message = refused(alice.peer().call_tool_once(retry(&state, "t_roots")).await);
    assert!(
        message.contains("requestState is not one this daemon gave you"),
        "{message}"
    );
    // The right retry completes the call with the server's own result, once.
    let done = alice
        .peer()
        .call_tool_once(retry(&state, "t_sample"))
        .await
        .unwrap();
    let CallToolResponse::Complete(done) = done else {
        panic!("{done:?}")
    };
    assert_eq!(text(&done), "answered");
    let message = refused(alice.peer().call_tool_once(retry(&state, "t_sample")).await);
    assert!(message.contains("expired or was used already"), "{message}");

    // A call nobody resumes is given up after --call-timeout.
    let CallToolResponse::InputRequired(asked) = alice.peer().call_tool_once(ask).await.unwrap()
    else {
        panic!("asked again")
    };
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let state = asked.request_state.unwrap();
    let message = refused(alice.peer().call_tool_once(retry(&state, "t_sample")).await);
    assert!(message.contains("expired or was used already"), "{message}");
}

#[tokio::test]
async fn the_python_sdk_answers_server_everythings_sampling_elicitation_and_roots() {
    let daemon = Process::daemon(&[]).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = tokio::process::Command::new(root.join(".tools/venv/bin/python"))
        .arg(root.join("tests/clients/everything_rounds.py"))
        .arg(daemon.url("/mcp"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the client finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen["protocolVersion"], "2026-07-28");
    let sampled = seen["sampled"].as_str().unwrap();
    assert!(sampled.contains("python sampled: "), "{sampled}");
    let elicited = seen["elicited"].as_str().unwrap();
    assert!(elicited.contains("\"action\": \"accept\""), "{elicited}");
    assert!(elicited.contains("Name: Ada"), "{elicited}");
    let roots = seen["roots"].as_str().unwrap();
    assert!(roots.contains("file:///python-root"), "{roots}");
}

#[tokio::test]
async fn progress_and_cancellation_cross_the_mount_for_a_modern_client() {
    let daemon = mounted(&[], None).await;
    let client = modern_client(&daemon.url("/mcp")).await;
    let observer = http_client(&daemon.url("/mcp")).await;
    super::progress_and_cancellation_cross(&client, &observer, "t").await;
}

#[tokio::test]
async fn one_caller_cannot_take_every_place_for_waiting_calls() {
    // A 2026-07-28 server's questions park the daemon's own calls (a stdio child could not
    // tell which of many concurrent calls a question belongs to).
    let (_server, server_url) = super::modern_server().await;
    let tokens = TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"));
    let mut flags = vec!["--tokens-file", tokens.path()];
    flags.extend(LOOPBACK_URL_MOUNTS);
    let daemon = Process::daemon(&flags).await;
    let url = daemon.url("/mcp");
    let alice = modern_client_as(&url, ALICE).await;
    let bob = modern_client_as(&url, BOB).await;
    call_ok(
        &alice,
        "mount_mcp_server",
        json!({"url": server_url, "name": "a"}),
    )
    .await;
    call_ok(
        &bob,
        "mount_mcp_server",
        json!({"url": server_url, "name": "b"}),
    )
    .await;
    let ask = |tool: &str| params(tool, json!({"text": "x"}));
    for _ in 0..64 {
        let asked = alice.peer().call_tool_once(ask("a_ask")).await.unwrap();
        assert!(
            matches!(asked, CallToolResponse::InputRequired(_)),
            "{asked:?}"
        );
    }
    let refused = alice.peer().call_tool_once(ask("a_ask")).await;
    let Err(rmcp::ServiceError::McpError(e)) = refused else {
        panic!("the 65th waiting call of one caller is refused: {refused:?}")
    };
    assert!(e.message.contains("64 of yours"), "{}", e.message);
    // Someone else still gets a place.
    let asked = bob.peer().call_tool_once(ask("b_ask")).await.unwrap();
    assert!(
        matches!(asked, CallToolResponse::InputRequired(_)),
        "{asked:?}"
    );
}
