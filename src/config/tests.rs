use super::*;

fn serve(args: &[&str]) -> ServeArgs {
    let mut argv = vec!["mcp-ephemeral-k8s", "serve"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Some(Command::Serve(args)) => *args,
        other => panic!("{other:?}"),
    }
}

#[test]
fn defaults_match_the_python_original() {
    let config = ServeConfig::from_args(&ServeArgs::default()).unwrap();
    assert_eq!(config.bind, "127.0.0.1:8000".parse().unwrap());
    assert_eq!(config.transport, Transport::Sse);
    assert_eq!(config.cors, CorsPolicy::Off);
    assert_eq!(config.ready_timeout, DEFAULT_READY_TIMEOUT);
}

#[test]
fn every_transport_name_of_the_original_parses() {
    for (name, expected) in [
        ("sse", Transport::Sse),
        ("http", Transport::Http),
        ("streamable-http", Transport::StreamableHttp),
        ("stdio", Transport::Stdio),
    ] {
        assert_eq!(serve(&["--transport", name]).transport, expected);
    }
}

#[test]
fn no_subcommand_means_serve() {
    assert!(
        Cli::try_parse_from(["mcp-ephemeral-k8s"])
            .unwrap()
            .command
            .is_none()
    );
}

#[test]
fn origins_accept_commas_and_repeats() {
    let args = serve(&[
        "--allow-origins",
        "http://a:1,http://b:2",
        "--allow-origins",
        "http://c",
    ]);
    assert_eq!(args.allow_origins.len(), 3);
    assert!(
        matches!(ServeConfig::from_args(&args).unwrap().cors, CorsPolicy::Origins(o) if o.len() == 3)
    );
}

#[test]
fn bad_values_are_named_with_their_value() {
    let err = ServeConfig::from_args(&serve(&["--host", "no such host.invalid"])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--host=\"no such host.invalid\" is not valid"),
        "{err}"
    );
    let err = ServeConfig::from_args(&serve(&["--ready-timeout", "0"])).unwrap_err();
    assert!(
        err.to_string().starts_with("--ready-timeout=\"0\""),
        "{err}"
    );
    let err = ServeConfig::from_args(&serve(&["--namespace", "Bad_NS"])).unwrap_err();
    assert!(err.to_string().contains("namespace name"), "{err}");
    let err = ServeConfig::from_args(&serve(&["--allow-origins", "nope"])).unwrap_err();
    assert!(
        err.to_string().starts_with("--allow-origins=\"nope\""),
        "{err}"
    );
}

#[test]
fn ipv6_hosts_resolve() {
    let config = ServeConfig::from_args(&serve(&["--host", "::1", "--port", "9"])).unwrap();
    assert_eq!(config.bind, "[::1]:9".parse().unwrap());
}

#[test]
fn bridge_takes_the_command_after_a_double_dash() {
    let cli = Cli::try_parse_from([
        "x",
        "bridge",
        "--port",
        "0",
        "--",
        "uvx",
        "mcp-server-time",
        "--local-timezone",
        "UTC",
    ])
    .unwrap();
    let Some(Command::Bridge(args)) = cli.command else {
        panic!()
    };
    let options = args.to_options().unwrap();
    assert_eq!(
        options.command,
        ["uvx", "mcp-server-time", "--local-timezone", "UTC"]
    );
    assert_eq!(options.bind.port(), 0);
    assert!(Cli::try_parse_from(["x", "bridge"]).is_err());
}

#[test]
fn worker_threads_default_to_one_per_core_and_are_bounded() {
    assert_eq!(ServeArgs::default().worker_threads, 0);
    assert_eq!(serve(&["--worker-threads", "1"]).worker_threads, 1);
    let err = ServeConfig::from_args(&serve(&["--worker-threads", "5000"])).unwrap_err();
    assert!(
        err.to_string().starts_with("--worker-threads=\"5000\""),
        "{err}"
    );
}
