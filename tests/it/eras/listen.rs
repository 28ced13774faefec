//! `subscriptions/listen`: a 2026-07-28 client hears of the mounts it may see, and only
//! those, while its lists stay private, short-lived and a function of its principal.

use std::time::Duration;

use rmcp::model::{CacheScope, ServerNotification, SubscriptionFilter};
use serde_json::json;

use super::modern_client_as;
use crate::support::*;

fn tokens_file() -> TempFile {
    TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"))
}

#[tokio::test]
async fn a_listener_hears_of_its_own_mounts_and_not_of_others() {
    let tokens = tokens_file();
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let url = daemon.url("/mcp");
    let alice = modern_client_as(&url, ALICE).await;
    let bob = modern_client_as(&url, BOB).await;
    let filter = SubscriptionFilter::builder()
        .tools_list_changed()
        .prompts_list_changed()
        .build();
    let mut alice_hears = alice.peer().listen(filter.clone()).await.unwrap();
    let mut bob_hears = bob.peer().listen(filter).await.unwrap();
    assert_eq!(alice_hears.acknowledged().tools_list_changed, Some(true));

    // Alice mounts a server of hers, from a 2025-11-25 session.
    let alice_legacy = http_client_as(&url, ALICE).await;
    let (server, _) = create_ready(&alice_legacy, test_server("")).await;
    let mount = json!({"job_name": server["job_name"], "name": "t"});
    call_ok(&alice_legacy, "mount_mcp_server", mount).await;

    let heard = tokio::time::timeout(QUICK, alice_hears.next())
        .await
        .expect("alice's listener hears of her mount")
        .unwrap();
    assert!(
        matches!(
            heard,
            Some(ServerNotification::ToolListChangedNotification(_))
        ),
        "{heard:?}"
    );
    let nothing = tokio::time::timeout(Duration::from_millis(500), bob_hears.next()).await;
    assert!(nothing.is_err(), "bob heard of alice's mount: {nothing:?}");

    // The lists follow: alice sees the mounted tools, bob does not; both are private.
    let listed = alice.peer().list_tools(None).await.unwrap();
    assert!(listed.tools.iter().any(|t| t.name.starts_with("t_")));
    assert_eq!(listed.ttl_ms, Some(5_000));
    assert_eq!(listed.cache_scope, Some(CacheScope::Private));
    let bobs = bob.peer().list_tools(None).await.unwrap();
    assert!(!bobs.tools.iter().any(|t| t.name.starts_with("t_")));

    // A 2025-11-25 client gets the old shape: no caching hints.
    let legacy = alice_legacy.peer().list_tools(None).await.unwrap();
    assert_eq!((legacy.ttl_ms, legacy.cache_scope), (None, None));
    alice_hears.cancel().await.unwrap();
}

#[tokio::test]
async fn a_listener_hears_of_the_mounted_resources_it_names_and_the_version_lists_revisions() {
    let (daemon, _legacy, _) = daemon_with_mounted_child("").await;
    let modern = super::modern_client(&daemon.url("/mcp")).await;
    let filter = SubscriptionFilter::builder()
        .resource_subscription("test://t/greeting")
        .build();
    let mut hears = modern.peer().listen(filter).await.unwrap();
    call_ok(&modern, "t_touch", json!({"uri": "test://greeting"})).await;
    let heard = tokio::time::timeout(QUICK, hears.next())
        .await
        .expect("the update of the resource it named")
        .unwrap();
    let Some(ServerNotification::ResourceUpdatedNotification(updated)) = heard else {
        panic!("{heard:?}")
    };
    assert_eq!(updated.params.uri, "test://t/greeting");

    // config://version: the version as text, then the revisions served as JSON.
    let read = modern
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "config://version",
        ))
        .await
        .unwrap();
    let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &read.contents[1] else {
        panic!("{read:?}")
    };
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        json["protocolVersions"],
        json!([
            "2024-11-05",
            "2025-03-26",
            "2025-06-18",
            "2025-11-25",
            "2026-07-28"
        ])
    );
}

#[tokio::test]
async fn one_principal_cannot_hold_more_than_its_share_of_listen_streams() {
    let tokens = tokens_file();
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let url = daemon.url("/mcp");
    let alice = modern_client_as(&url, ALICE).await;
    let filter = SubscriptionFilter::builder().tools_list_changed().build();
    let mut streams = Vec::new();
    for _ in 0..mcp_ephemeral_k8s::upstream::MAX_LISTENERS_PER_PRINCIPAL {
        streams.push(alice.peer().listen(filter.clone()).await.unwrap());
    }
    // The next one is refused: at once, or its stream ends with the reason.
    let refused = match alice.peer().listen(filter.clone()).await {
        Err(error) => error.to_string(),
        Ok(mut stream) => {
            let ended = tokio::time::timeout(QUICK, stream.next()).await;
            format!("{ended:?}")
        }
    };
    assert!(
        refused.contains("listen streams are open for you already"),
        "{refused}"
    );
    // Bob is not held up by alice's streams.
    let bob = modern_client_as(&url, BOB).await;
    let mut bobs = bob.peer().listen(filter.clone()).await.unwrap();
    assert_eq!(bobs.acknowledged().tools_list_changed, Some(true));
    // One closed, one more may open.
    streams.pop().unwrap().cancel().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = alice.peer().listen(filter).await.unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(300), again.next()).await;
    assert!(nothing.is_err(), "the new stream stays open: {nothing:?}");
    bobs.cancel().await.unwrap();
}
