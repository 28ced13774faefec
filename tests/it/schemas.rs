//! The meta tools' schemas pass a strict JSON Schema 2020-12 validator (ajv in strict mode,
//! as the TypeScript SDK and MCP Inspector use it): no format of schemars' own, which such
//! clients report as unknown on every session.

use std::{path::Path, process::Stdio};

use tokio::io::AsyncWriteExt;

use crate::support::*;

#[tokio::test]
async fn every_meta_tools_schema_passes_a_strict_validator() {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let tools = meta.list_all_tools().await.unwrap();
    assert!(tools.len() >= 9, "{tools:?}");
    assert!(
        tools
            .iter()
            .all(|t| t.output_schema.is_some() || t.name.starts_with("call_"))
    );
    let servers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers");
    assert!(
        servers.join("node_modules/ajv").is_dir(),
        "tests/servers has no packages: run scripts/test (it runs npm ci there)"
    );
    let mut check = tokio::process::Command::new("node")
        .arg(servers.join("check-schemas.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = check.stdin.take().unwrap();
    stdin
        .write_all(&serde_json::to_vec(&tools).unwrap())
        .await
        .unwrap();
    drop(stdin);
    let output = check.wait_with_output().await.unwrap();
    let problems = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{problems}");
}
