//! The bridge serves both eras over one stdio child of an older revision: a 2026-07-28
//! client calls it statelessly (the child's questions come back as `input_required`) and
//! hears its list changes on a listen stream, while a 2025-11-25 session uses it as before.

use rmcp::model::{ServerNotification, SubscriptionFilter};
use serde_json::json;

use super::modern_client;
use crate::support::*;

#[tokio::test]
async fn a_bridge_serves_a_modern_and_a_legacy_client_over_one_older_child() {
    let bridge = test_bridge(&[]).await;
    let url = bridge.url("/mcp");
    wait_healthy(&bridge.url("/health")).await;
    let modern = modern_client(&url).await;
    let legacy = http_client(&url).await;
    assert_eq!(
        modern.peer().peer_info().unwrap().protocol_version.as_str(),
        "2026-07-28"
    );
    assert!(
        tool_names(modern.peer())
            .await
            .contains(&"sample".to_owned())
    );
    assert_eq!(
        text(&call(&modern, "echo", json!({"text": "modern"})).await),
        "modern"
    );
    assert_eq!(
        text(&call(&legacy, "echo", json!({"text": "legacy"})).await),
        "legacy"
    );

    // The child asks; the modern client is asked through input_required.
    let Some(serde_json::Value::Object(arguments)) = Some(json!({"text": "q"})) else {
        unreachable!()
    };
    let params = rmcp::model::CallToolRequestParams::new("sample").with_arguments(arguments);
    let sampled = modern.call_tool(params).await.unwrap();
    assert_eq!(text(&sampled), "sampled: q");

    // The child's list changes reach the listen stream.
    let filter = SubscriptionFilter::builder().tools_list_changed().build();
    let mut hears = modern.peer().listen(filter).await.unwrap();
    call(&legacy, "add_tool", json!({"text": "extra"})).await;
    let heard = tokio::time::timeout(QUICK, hears.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            heard,
            Some(ServerNotification::ToolListChangedNotification(_))
        ),
        "{heard:?}"
    );
}
