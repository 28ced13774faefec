use super::*;

#[test]
fn defaults_match_the_python_original() {
    let c: EphemeralMcpServerConfig =
        serde_json::from_str(r#"{"runtime_exec":"uvx","runtime_mcp":"mcp-server-fetch"}"#).unwrap();
    assert_eq!(c.port, 8080);
    assert_eq!(c.host, "0.0.0.0");
    assert_eq!(c.resource_requests["cpu"], "100m");
    assert_eq!(c.resource_limits["memory"], "200Mi");
    assert_eq!(c.probe_config.failure_threshold, 300);
    assert_eq!(c.sa_config, None);
}

#[test]
fn runtime_args_follow_a_literal_double_dash_split_shell_style() {
    let c = EphemeralMcpServerConfig::runtime("uvx", "mcp-fs").with_args("/tmp 'a b' --x=1");
    let args = c.bridge_args("0.0.0.0", 8080).unwrap().unwrap();
    assert_eq!(
        args,
        [
            "bridge", "--host", "0.0.0.0", "--port", "8080", "--", "uvx", "mcp-fs", "/tmp", "a b",
            "--x=1"
        ]
    );
}

#[test]
fn npx_runs_without_asking_to_install() {
    let c = EphemeralMcpServerConfig::runtime(
        "/usr/bin/npx",
        "@modelcontextprotocol/server-everything",
    );
    let args = c.bridge_args("h", 1).unwrap().unwrap();
    assert_eq!(
        args[5..],
        [
            "--",
            "/usr/bin/npx",
            "--yes",
            "@modelcontextprotocol/server-everything"
        ]
    );
}

#[test]
fn image_only_servers_have_no_bridge_command() {
    let c = EphemeralMcpServerConfig::from_docker_image("ghcr.io/github/github-mcp-server", None)
        .unwrap();
    assert_eq!(c.bridge_args("h", 1).unwrap(), None);
    assert!(EphemeralMcpServerConfig::from_docker_image(DEFAULT_RUNTIME_IMAGE, None).is_err());
}

#[test]
fn half_a_runtime_is_refused() {
    let mut c = EphemeralMcpServerConfig::runtime("uvx", "x");
    c.runtime_mcp = None;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("give runtime_mcp too"), "{err}");
    let mut c = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    c.runtime_exec = None;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("give runtime_exec too"), "{err}");
    // Said in words, not in Rust's.
    assert!(!err.contains("Some(") && !err.contains("None"), "{err}");
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let cases = [
        (
            EphemeralMcpServerConfig::runtime("", "x"),
            "runtime_exec is empty",
        ),
        (
            EphemeralMcpServerConfig::runtime("uvx", " "),
            "runtime_mcp is empty",
        ),
        (
            EphemeralMcpServerConfig::runtime("uv x", "p"),
            "contains whitespace",
        ),
        (
            EphemeralMcpServerConfig::runtime("uvx", "p").with_args("'open"),
            "unclosed quote",
        ),
        (
            EphemeralMcpServerConfig::runtime("uvx", "p").with_env("1BAD", "v"),
            "not a valid variable name",
        ),
        (
            EphemeralMcpServerConfig::runtime("uvx", "p").with_env("A-B", "v"),
            "not a valid variable name",
        ),
        (
            EphemeralMcpServerConfig::runtime("uvx", "p").with_env("OK", "a\0b"),
            "NUL",
        ),
    ];
    for (config, expected) in cases {
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }
}

#[test]
fn redaction_hides_every_env_value() {
    let c = EphemeralMcpServerConfig::runtime("uvx", "p").with_env("TOKEN", "s3cret");
    let shown = serde_json::to_string(&c.redacted()).unwrap();
    assert!(!shown.contains("s3cret"));
    assert!(shown.contains(REDACTED));
}

#[test]
fn null_env_is_accepted() {
    let c: EphemeralMcpServerConfig =
        serde_json::from_str(r#"{"runtime_exec":"uvx","runtime_mcp":"p","env":null}"#).unwrap();
    assert!(c.env.is_empty());
}

#[test]
fn an_option_in_place_of_the_package_is_refused() {
    // `uvx --from=git+https://… x` would run another package than the one allowed.
    let c = EphemeralMcpServerConfig::runtime("uvx", "--from=git+https://example.com/evil");
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("is an option, not a package"), "{err}");
}
