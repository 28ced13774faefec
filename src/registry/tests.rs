//! Resolution of the `server.json` documents in `tests/registry/` (written to the
//! published `2025-12-11` schema): each package type, remotes, and every refusal.

use std::collections::BTreeMap;

use super::{
    Error, Registry, ServerDetail,
    resolve::{Given, package_config, remote},
};
use crate::model::MountTransport;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry")
}

fn entry(file: &str) -> ServerDetail {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn given<'a>(inputs: &'a BTreeMap<String, String>, env: &'a BTreeMap<String, String>) -> Given<'a> {
    Given { inputs, env }
}

#[test]
fn pypi_runs_with_uvx_and_npm_with_npx_pinned_with_their_defaults() {
    let none = BTreeMap::new();
    let time = package_config(&entry("time.json"), given(&none, &none)).unwrap();
    assert_eq!(time.runtime_exec.as_deref(), Some("uvx"));
    assert_eq!(
        time.runtime_mcp.as_deref(),
        Some("mcp-server-time@2026.10.19")
    );
    assert_eq!(time.split_args().unwrap(), ["--local-timezone", "UTC"]);
    let zone = map(&[("local-timezone", "Europe/Amsterdam")]);
    let time = package_config(&entry("time.json"), given(&zone, &none)).unwrap();
    assert_eq!(
        time.split_args().unwrap(),
        ["--local-timezone", "Europe/Amsterdam"]
    );

    let everything = package_config(&entry("everything.json"), given(&none, &none)).unwrap();
    assert_eq!(everything.runtime_exec.as_deref(), Some("npx"));
    assert_eq!(
        everything.runtime_mcp.as_deref(),
        Some("@modelcontextprotocol/server-everything@2026.8.31")
    );
    assert_eq!(everything.env["EVERYTHING_GREETING"], "hello");
}

#[test]
fn arguments_stay_words_and_variables_are_filled_in() {
    let inputs = map(&[("city", "Den Haag; rm -rf ~"), ("units", "fahrenheit")]);
    let env = map(&[("WEATHER_API_KEY", "${MCP_SECRET_WEATHER}"), ("EXTRA", "1")]);
    let config = package_config(&entry("weather.json"), given(&inputs, &env)).unwrap();
    assert_eq!(
        config.split_args().unwrap(),
        [
            "Den Haag; rm -rf ~",
            "--units",
            "fahrenheit",
            "--log",
            "/tmp/weather.log"
        ]
    );
    assert_eq!(config.env["WEATHER_API_KEY"], "${MCP_SECRET_WEATHER}");
    assert_eq!(config.env["WEATHER_REGION"], "eu");
    assert_eq!(
        config.env["EXTRA"], "1",
        "the caller's other variables pass on"
    );
}

#[test]
fn missing_values_are_all_named_at_once() {
    let none = BTreeMap::new();
    let error = package_config(&entry("weather.json"), given(&none, &none)).unwrap_err();
    let Error::Missing { missing, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(missing.len(), 2, "{missing:?}");
    let text = error.to_string();
    assert!(
        text.contains("city (The city to forecast)") && text.contains("WEATHER_API_KEY (API key"),
        "{text}"
    );
}

#[test]
fn secrets_are_taken_only_by_reference() {
    let inputs = map(&[("city", "Paris")]);
    for clear in ["sk-123456", "$${NOT_A_REFERENCE}"] {
        let env = map(&[("WEATHER_API_KEY", clear)]);
        let error = package_config(&entry("weather.json"), given(&inputs, &env)).unwrap_err();
        assert!(matches!(error, Error::SecretInClear(_)), "{clear}: {error}");
        assert!(
            !error.to_string().contains(clear) || clear.starts_with("$$"),
            "the value is not echoed"
        );
    }
    for reference in [
        "${MCP_SECRET_WEATHER}",
        "${secret:weather/key}",
        "Bearer ${MCP_SECRET_WEATHER}",
    ] {
        let env = map(&[("WEATHER_API_KEY", reference)]);
        assert!(
            package_config(&entry("weather.json"), given(&inputs, &env)).is_ok(),
            "{reference}"
        );
    }
}

#[test]
fn a_value_outside_the_choices_is_refused() {
    let inputs = map(&[("city", "Paris"), ("units", "kelvin")]);
    let env = map(&[("WEATHER_API_KEY", "${K}")]);
    let error = package_config(&entry("weather.json"), given(&inputs, &env))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("units must be one of [\"celsius\", \"fahrenheit\"]"),
        "{error}"
    );
}

#[test]
fn an_oci_image_serving_http_runs_as_an_image_on_its_port() {
    let none = BTreeMap::new();
    let config = package_config(&entry("image.json"), given(&none, &none)).unwrap();
    assert_eq!(config.image, "docker.io/example/search-mcp:1.2.0");
    assert_eq!(config.port, 9090);
    assert!(config.runtime_exec.is_none() && config.runtime_mcp.is_none());
    assert_eq!(config.env["SEARCH_INDEX"], "web");
    let error = package_config(&entry("stdio-image.json"), given(&none, &none))
        .unwrap_err()
        .to_string();
    assert!(error.contains("the image speaks stdio"), "{error}");
}

#[test]
fn a_remote_is_mounted_not_run_and_its_variables_filled_in() {
    let none = BTreeMap::new();
    let error = package_config(&entry("remote.json"), given(&none, &none))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("mount it with mount_mcp_server(registry=…)"),
        "{error}"
    );
    let error = remote(&entry("remote.json"), given(&none, &none))
        .unwrap_err()
        .to_string();
    assert!(error.contains("needs values for: port"), "{error}");
    let port = map(&[("port", "8123")]);
    let endpoint = remote(&entry("remote.json"), given(&port, &none)).unwrap();
    assert_eq!(endpoint.url, "http://127.0.0.1:8123/mcp");
    assert_eq!(endpoint.transport, MountTransport::StreamableHttp);
    let error = remote(&entry("time.json"), given(&none, &none))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("start it with create_mcp_server(registry=…)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_directory_serves_the_latest_or_the_asked_version_and_searches() {
    let registry = Registry::dir(&dir()).unwrap();
    let latest = registry
        .get("io.github.example/weather", None)
        .await
        .unwrap();
    assert_eq!(latest.version, "0.5.0");
    let old = registry
        .get("io.github.example/weather", Some("0.4.2"))
        .await
        .unwrap();
    assert_eq!(old.version, "0.4.2");
    let error = registry
        .get("io.github.example/weather", Some("9.9.9"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("at version \"9.9.9\""),
        "{error}"
    );
    for bad in ["no-slash", "a/b/c", "../etc/passwd", "x/../../y"] {
        assert!(
            matches!(registry.get(bad, None).await, Err(Error::Invalid(_))),
            "{bad}"
        );
    }
    let weather = "io.github.example/weather";
    for bad in ["..", "../../x", "1.0/../2", "", "1.0?x=1"] {
        let refused = registry.get(weather, Some(bad)).await;
        assert!(matches!(refused, Err(Error::Invalid(_))), "{bad}");
    }
    let found = registry.search("time zones", 10).await.unwrap();
    assert_eq!(
        found.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["io.github.modelcontextprotocol/time"]
    );
    let weather = registry.search("weather", 10).await.unwrap();
    assert_eq!(weather.len(), 1, "one entry per server, its latest");
    assert_eq!(weather[0].version, "0.5.0");
}
