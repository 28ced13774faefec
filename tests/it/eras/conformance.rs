//! The official conformance suite (`@modelcontextprotocol/conformance`, installed in
//! tests/servers) against the daemon's `/mcp`, for each revision it knows. Scenarios that
//! call the suite's reference fixtures (tools such as `test_simple_text`, resources under
//! `test://`) cannot pass against a server that lacks them, so those are run but not
//! judged; every other check must succeed.

use std::{collections::BTreeSet, path::Path};

use serde_json::Value;

use crate::support::*;

/// Scenarios made of calls to the suite's own fixtures.
const FIXTURE_SCENARIOS: &[&str] = &[
    "completion-complete",
    "elicitation-sep1034-defaults",
    "elicitation-sep1330-enums",
    "http-custom-header-server-validation",
    "json-schema-2020-12",
    "resources-read-binary",
    "resources-read-text",
    "resources-subscribe",
    "resources-templates-read",
    "resources-unsubscribe",
];

/// Prefixes of further fixture scenarios.
const FIXTURE_PREFIXES: &[&str] = &["tools-call-", "prompts-get-", "input-required-result-"];

/// Checks of judged scenarios that need a diagnostic fixture tool; they may fail only as
/// untestable for that reason.
const FIXTURE_CHECKS: &[&str] = &[
    "sep-2575-server-rejects-undeclared-capability",
    "sep-2575-missing-capability-http-400",
    "sep-2575-http-server-no-independent-requests-on-stream",
    "sep-2575-server-no-log-without-loglevel",
];

fn is_fixture_scenario(name: &str) -> bool {
    FIXTURE_SCENARIOS.contains(&name) || FIXTURE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Runs the suite for `version` against a fresh daemon; returns the judged scenarios.
async fn suite_passes(version: &str) -> BTreeSet<String> {
    let daemon = Process::daemon(&[]).await;
    let servers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers");
    let suite = servers.join("node_modules/.bin/conformance");
    assert!(
        suite.exists(),
        "tests/servers has no conformance suite: run scripts/test (it runs npm ci there)"
    );
    let node = std::process::Command::new("node").arg("--version").output();
    let major: u32 = node
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            v.trim()
                .trim_start_matches('v')
                .split('.')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(
        major >= 22,
        "the conformance suite needs Node 22 or newer on PATH (found {major}): run scripts/test, \
         which installs it into .tools/bin"
    );
    let out = std::env::temp_dir().join(format!("conformance-{}", uuid::Uuid::new_v4()));
    let output = tokio::process::Command::new(&suite)
        .args(["server", "--suite", "all", "--spec-version", version])
        .arg("--url")
        .arg(daemon.url("/mcp"))
        .arg("-o")
        .arg(&out)
        .output()
        .await
        .expect("the conformance suite runs (Node 22 or newer on PATH)");
    let mut judged = BTreeSet::new();
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // "server-<scenario>-<timestamp: 2026-12-07T22-14-22-904Z>"
        let scenario =
            name["server-".len()..name.len() - "-2026-12-07T22-14-22-904Z".len()].to_owned();
        if is_fixture_scenario(&scenario) {
            continue;
        }
        let checks: Vec<Value> =
            serde_json::from_slice(&std::fs::read(dir.join("checks.json")).unwrap()).unwrap();
        for check in checks {
            let id = check["id"].as_str().unwrap_or_default();
            let failed = check["status"] == "FAILURE";
            let message = check["errorMessage"].as_str().unwrap_or_default();
            let for_want_of_a_fixture = FIXTURE_CHECKS.contains(&id)
                && check["details"]["untestable"] == true
                && message.contains("does not list the diagnostic tool");
            if failed && !for_want_of_a_fixture {
                failures.push(format!("{scenario}: {id}: {message}"));
            }
        }
        judged.insert(scenario);
    }
    std::fs::remove_dir_all(&out).unwrap();
    assert!(
        failures.is_empty(),
        "{version}: {failures:#?}\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    judged
}

#[tokio::test]
async fn the_conformance_suite_passes_for_2026_07_28() {
    let judged = suite_passes("2026-07-28").await;
    for scenario in [
        "server-stateless",
        "caching",
        "http-header-validation",
        "sep-2164-resource-not-found",
        "tools-list",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ] {
        assert!(
            judged.contains(scenario),
            "{scenario} did not run: {judged:?}"
        );
    }
}

#[tokio::test]
async fn the_conformance_suite_passes_for_2025_11_25() {
    let judged = suite_passes("2025-11-25").await;
    for scenario in [
        "server-initialize",
        "server-session-lifecycle",
        "logging-set-level",
        "ping",
        "server-sse-polling",
        "tools-list",
    ] {
        assert!(
            judged.contains(scenario),
            "{scenario} did not run: {judged:?}"
        );
    }
}

#[tokio::test]
async fn the_conformance_suite_passes_for_2025_06_18_and_2025_03_26() {
    let judged = suite_passes("2025-06-18").await;
    assert!(judged.contains("server-initialize"), "{judged:?}");
    let judged = suite_passes("2025-03-26").await;
    assert!(judged.contains("server-session-lifecycle"), "{judged:?}");
}
