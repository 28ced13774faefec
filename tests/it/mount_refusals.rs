//! What mounting refuses, and how it says so: names that would shadow a meta tool or are
//! not valid, mounts of the daemon itself, cycles, and requests that lack what is needed.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn meta_tools_can_never_be_shadowed() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server("--extra-tool create_mcp_server")).await;
    let error = call_err(
        &meta,
        "mount_mcp_server",
        json!({"job_name": server["job_name"]}),
    )
    .await;
    assert!(error.contains("tool create_mcp_server"), "{error}");
    let error = call_err(
        &meta,
        "mount_mcp_server",
        json!({"job_name": server["job_name"], "name": "bad name"}),
    )
    .await;
    assert!(
        error.contains("mount name \"bad name\" is not valid"),
        "{error}"
    );
    // A name that would produce a meta tool's name is refused as a collision too.
    let (other, _) = create_ready(&meta, test_server("--extra-tool presets")).await;
    let error = call_err(
        &meta,
        "mount_mcp_server",
        json!({"job_name": other["job_name"], "name": "list"}),
    )
    .await;
    assert!(error.contains("tool list_presets"), "{error}");
}

#[tokio::test]
async fn self_mounts_and_cycles_are_refused() {
    let a = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let b = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta_a = http_client(&a.url("/mcp")).await;
    let meta_b = http_client(&b.url("/mcp")).await;
    let error = call_err(
        &meta_a,
        "mount_mcp_server",
        json!({"url": a.url("/mcp"), "name": "me"}),
    )
    .await;
    assert!(error.contains("it is this daemon itself"), "{error}");
    let error = call_err(
        &meta_a,
        "mount_mcp_server",
        json!({"url": a.url("/sse"), "name": "me"}),
    )
    .await;
    assert!(error.contains("it is this daemon itself"), "{error}");
    // b mounts a: fine. a mounting b would close a loop.
    let mounted = call_ok(
        &meta_b,
        "mount_mcp_server",
        json!({"url": a.url("/mcp"), "name": "a"}),
    )
    .await;
    assert_eq!(mounted["mount"]["transport"], "streamable-http");
    assert!(
        tool_names(&meta_b)
            .await
            .contains(&"a_list_presets".to_owned())
    );
    let error = call_err(
        &meta_a,
        "mount_mcp_server",
        json!({"url": b.url("/mcp"), "name": "b"}),
    )
    .await;
    assert!(error.contains("would make a cycle"), "{error}");
}

#[tokio::test]
async fn bad_mount_requests_say_what_to_give() {
    let daemon = Process::daemon(&LOOPBACK_URL_MOUNTS).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let cases = [
        (json!({}), "job_name or url is required"),
        (
            json!({"job_name": "nope-1-abcdefgh"}),
            "failed to find MCP job",
        ),
        (
            json!({"job_name": "x", "url": "http://a"}),
            "either job_name or url",
        ),
        (json!({"url": "not a url"}), "is not a URL"),
        (json!({"url": "ftp://host/x"}), "is not http(s)"),
        (
            json!({"url": "http://127.0.0.1:1/mcp", "name": "x"}),
            "cannot mount http://127.0.0.1:1/mcp",
        ),
    ];
    for (args, expected) in cases {
        let error = call_err(&meta, "mount_mcp_server", args.clone()).await;
        assert!(error.contains(expected), "{args}: {error}");
    }
}
