//! The README's snippets run: the Python example with the Python SDK 2.x against a real
//! daemon, and the Rust ones as the examples they are taken from (each README line must be
//! there, in order), which the tests run too.

use std::{path::Path, time::Duration};

use serde_json::json;

use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The code blocks of the README in `language`, in order.
fn blocks(language: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let fence = format!("```{language}\n");
    let mut found = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").expect("a closed block");
        found.push(body[..end].to_owned());
        rest = &body[end..];
    }
    found
}

/// The tests' Python with the MCP SDK 2.x (scripts/test installs it).
fn python() -> std::path::PathBuf {
    let python = Path::new(ROOT).join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test, which installs the Python MCP SDK there",
        python.display()
    );
    python
}

#[tokio::test]
async fn the_python_example_creates_mounts_calls_and_deletes() {
    let daemon = Process::daemon(&[]).await;
    let [example] = blocks("python").try_into().expect("one Python example");
    let script = example.replace("http://127.0.0.1:8000/mcp", &daemon.url("/mcp"));
    let file = TempFile::with(&script);
    let mut command = tokio::process::Command::new(python());
    command.arg(file.path());
    let output = finished(command).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let now: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(now["timezone"], "UTC", "{stdout}");
    // It deleted what it created.
    let meta = http_client(&daemon.url("/mcp")).await;
    assert_eq!(
        text(&call(&meta, "list_mcp_servers", json!({})).await),
        "[]"
    );
}

#[test]
fn every_rust_snippet_is_in_an_example() {
    let examples: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("examples"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let rust = blocks("rust");
    assert!(rust.len() >= 2, "{rust:?}");
    for snippet in rust {
        let lines: Vec<&str> = snippet
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let in_order = |example: &String| {
            let mut remaining = example.lines().map(str::trim);
            lines.iter().all(|line| remaining.any(|l| l == *line))
        };
        assert!(
            examples.iter().any(in_order),
            "this README snippet is in no example, in this order:\n{snippet}"
        );
    }
}

/// What `command` printed, once it finished (within 3 minutes: a first run downloads).
async fn finished(mut command: tokio::process::Command) -> std::process::Output {
    let run = command.kill_on_drop(true).output();
    tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the example finishes")
        .unwrap()
}

/// An example built beside the test binaries (cargo test builds them).
fn example(name: &str) -> std::path::PathBuf {
    Path::new(BIN).parent().unwrap().join("examples").join(name)
}

#[tokio::test]
async fn the_client_example_lists_the_daemons_tools() {
    let daemon = Process::daemon(&[]).await;
    let output = tokio::process::Command::new(example("client"))
        .arg(daemon.url("/mcp"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.lines().any(|l| l == "create_mcp_server"), "{stdout}");
}

#[tokio::test]
async fn the_library_example_creates_calls_mounts_and_deletes() {
    let mut command = tokio::process::Command::new(example("local_session"));
    command.env("MCP_EPHEMERAL_K8S_BRIDGE_BIN", BIN);
    let output = finished(command).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"timezone\": \"UTC\""), "{stdout}");
    assert!(stdout.contains("time_get_current_time"), "{stdout}");
}
