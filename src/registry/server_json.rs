//! The MCP Registry's `server.json` (schema `2025-12-11`): what an entry says about a
//! server — its packages (npm, PyPI, OCI…) and how to run them, and its remote endpoints.
//! Only what the daemon uses is read; unknown fields are ignored, as the schema allows
//! (`_meta`, `icons`, `repository`…).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerDetail {
    /// Reverse-DNS name with one `/`: `io.github.owner/server`.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The server's version (exact, never a range).
    pub version: String,
    /// Ways to run it locally.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    /// Endpoints where it already runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<Transport>,
}

/// A package that runs the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`…
    pub registry_type: String,
    /// The package registry (`https://registry.npmjs.org`, `https://docker.io`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_base_url: Option<String>,
    /// The package's name (or image).
    pub identifier: String,
    /// Its exact version.
    pub version: String,
    /// The runner it expects: `npx`, `uvx`, `docker`, `dnx`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_hint: Option<String>,
    /// How it speaks MCP.
    pub transport: Transport,
    /// Arguments for the runner (`docker run …`, `npx …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_arguments: Vec<Argument>,
    /// Arguments for the server itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub package_arguments: Vec<Argument>,
    /// Environment variables it reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_variables: Vec<KeyValueInput>,
}

/// `stdio`, `streamable-http` or `sse`, with the URL (a template) of the last two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transport {
    /// `stdio`, `streamable-http` or `sse`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The endpoint (`{variables}` allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers to send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<KeyValueInput>,
    /// Values of the URL's `{variables}` (remotes, since `2025-12-11`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Input>,
}

/// A value the user may give: its default, whether it is required or secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// It must have a value.
    #[serde(default)]
    pub is_required: bool,
    /// It is a password or token.
    #[serde(default)]
    pub is_secret: bool,
    /// A fixed value (`{variables}` allowed), not for the user to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Its value when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The only values allowed, when given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Values of `{variables}` in `value`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Input>,
}

/// A header or an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValueInput {
    /// Its name.
    pub name: String,
    /// The rest.
    #[serde(flatten)]
    pub input: Input,
}

/// A command-line argument: `positional` (a value) or `named` (`--flag value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    /// `positional` or `named`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The flag, with its dashes (named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What to call a positional value (how callers name it in `inputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_hint: Option<String>,
    /// The rest.
    #[serde(flatten)]
    pub input: Input,
}

/// What a registry answers for one server: the entry and the registry's own metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerResponse {
    /// The entry.
    pub server: ServerDetail,
}

/// What a registry answers for a list of servers.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerList {
    /// The entries.
    pub servers: Vec<ServerResponse>,
}
