//! A mounted server with a huge tool list: searching and listing it stays bounded.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{
    reliability::{report, rss_mib},
    support::*,
};

#[tokio::test]
async fn a_huge_tool_list_cannot_make_search_or_listing_blow_up() {
    const TOOLS: usize = 20_000;
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let count = TOOLS.to_string();
    let (server, _) = create_ready(&meta, test_server(&format!("--many-tools {count}"))).await;
    let mount = json!({"job_name": server["job_name"], "name": "m"});
    let mounted = call_ok(&meta, "mount_mcp_server", mount).await;
    assert!(mounted["tools_added"].as_u64().unwrap() > TOOLS as u64);
    let (before, _) = rss_mib(daemon.pid());
    let mut slowest = Duration::ZERO;
    for query in ["many_19999 records", "converts fetches", "echo"] {
        let started = Instant::now();
        let found = call_ok(
            &meta,
            "search_mounted_tools",
            json!({"query": query, "limit": 5}),
        )
        .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(found["result"].as_array().unwrap().len(), 5, "{query}");
    }
    let best = call_ok(
        &meta,
        "search_mounted_tools",
        json!({"query": "many_19999 records"}),
    )
    .await;
    assert_eq!(best["result"][0]["name"], "m_many_19999");
    let (after, peak) = rss_mib(daemon.pid());
    assert!(
        slowest < Duration::from_secs(10),
        "a search took {slowest:?}"
    );
    assert!(after - before < 64.0, "RSS {before:.1} → {after:.1} MiB");
    report(
        "huge tool list",
        &[
            ("tools mounted", count),
            ("slowest search", format!("{slowest:?}")),
            (
                "daemon RSS before / after / peak",
                format!("{before:.1} / {after:.1} / {peak:.1} MiB"),
            ),
        ],
    );
}
