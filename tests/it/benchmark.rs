//! The benchmark (`examples/bench.rs`, run by `scripts/bench` for BENCHMARKS.md) still runs
//! end to end: `--seconds 0` makes one call per session in every configuration.

use std::path::Path;

use crate::support::BIN;

#[tokio::test]
async fn the_benchmark_runs_every_configuration() {
    // `cargo test` builds the examples next to the binaries it tests.
    let bench = Path::new(BIN)
        .parent()
        .expect("the binaries' directory")
        .join("examples/bench");
    let output = tokio::process::Command::new(&bench)
        .args(["--seconds", "0"])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bench.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the benchmark failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for row in [
        "| bridge → test server `echo` | rmcp | 64 |",
        "| meta-server `list_mcp_servers` | rmcp, legacy SSE | 64 |",
        "| daemon (`serve`, no children) |",
        "| streamable-http | raw HTTP | 1 |",
        "| sse | rmcp | 64 |",
    ] {
        assert!(stdout.contains(row), "no row {row} in:\n{stdout}");
    }
}
