//! Attacks across principals of a tokens file: what one principal's mounts send (updates,
//! list changes, names) must not reach, or be learned by, another.

use std::time::Duration;

use rmcp::model::SubscribeRequestParams;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn principals_see_nothing_of_each_others_mounts() {
    let tokens = TempFile::with(&format!("alice {ALICE}\nbob {BOB}\n"));
    let daemon = Process::daemon(&["--tokens-file", tokens.path()]).await;
    let alice = http_client_as(&daemon.url("/mcp"), ALICE).await;
    let bob = http_client_as(&daemon.url("/mcp"), BOB).await;
    let mount = async |client: &rmcp::Peer<rmcp::RoleClient>, name: Option<&str>| {
        let (server, _) = create_ready(client, test_server("")).await;
        let mut args = json!({"job_name": server["job_name"]});
        if let Some(name) = name {
            args["name"] = json!(name);
        }
        call_ok(client, "mount_mcp_server", args).await
    };
    // Unnamed mounts of the same server: the same tool names and URIs, in two views.
    mount(&bob, None).await;
    let (bob_seen, alice_seen) = (bob.service().clone(), alice.service().clone());
    eventually("bob's list_changed", || bob_seen.seen().tools_changed > 0).await;
    let bob_lists = bob_seen.seen().tools_changed;
    mount(&alice, None).await;
    // The same mount name in both views, too: names clash only where both are seen.
    mount(&alice, Some("a")).await;
    let bobs = mount(&bob, Some("a")).await;
    assert!(!bobs.to_string().contains("alice"), "{bobs}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        bob_seen.seen().tools_changed,
        bob_lists + 1,
        "bob was told of alice's mounts"
    );

    // Both subscribe to the same URI; each child's update reaches its owner only.
    for client in [&alice, &bob] {
        client
            .subscribe(SubscribeRequestParams::new("test://greeting"))
            .await
            .unwrap();
    }
    call_ok(&alice, "touch", json!({"uri": "test://greeting"})).await;
    eventually("alice's update", || alice_seen.seen().updated.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bob_seen.seen().updated.is_empty(), "bob got alice's update");
    call_ok(&bob, "touch", json!({"uri": "test://greeting"})).await;
    eventually("bob's update", || bob_seen.seen().updated.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alice_seen.seen().updated.len(), 1, "alice got bob's update");
}
