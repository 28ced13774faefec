//! From a registry entry to something the daemon runs: the first package it can run —
//! npm → `npx`, PyPI → `uvx`, OCI serving HTTP → an `image` — or, for mounting, a remote
//! endpoint. Arguments are built from the entry's fixed values, the caller's `inputs` and
//! defaults, `{variables}` filled in; environment variables from the caller's `env`,
//! fixed values and defaults. Nothing passes through a shell: arguments stay separate
//! words (quoted into `runtime_args`, which is split back without a shell).

use std::collections::BTreeMap;

use super::{
    Error,
    server_json::{Argument, Input, KeyValueInput, Package, ServerDetail},
};
use crate::model::{EphemeralMcpServerConfig, MountTransport};

/// What the caller gives for an entry: values of its arguments and `{variables}` (by value
/// hint, flag name without dashes, or variable name), and its environment variables.
#[derive(Debug, Clone, Copy)]
pub struct Given<'a> {
    /// Values by argument or variable name.
    pub inputs: &'a BTreeMap<String, String>,
    /// Environment variables.
    pub env: &'a BTreeMap<String, String>,
}

/// A remote endpoint of an entry, ready to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The URL, variables filled in.
    pub url: String,
    /// How to connect.
    pub transport: MountTransport,
}

/// The npm and PyPI registries packages may come from (the daemon's own settings say
/// where `npx` and `uvx` look).
const PUBLIC_REGISTRIES: [&str; 3] = [
    "https://registry.npmjs.org",
    "https://pypi.org",
    "https://pypi.org/simple",
];

/// The configuration that runs `entry`: its first package the daemon can run.
///
/// # Errors
/// [`Error::NotRunnable`] saying why each package cannot run (and that remotes are mounted
/// instead), [`Error::Missing`] naming every value it needs and lacks, [`Error::SecretInClear`],
/// [`Error::NotAChoice`].
pub fn package_config(
    entry: &ServerDetail,
    given: Given<'_>,
) -> Result<EphemeralMcpServerConfig, Error> {
    let mut why = Vec::new();
    for package in &entry.packages {
        match runnable(package) {
            Ok(kind) => return build(entry, package, kind, given),
            Err(reason) => why.push(format!(
                "{} {}: {reason}",
                package.registry_type, package.identifier
            )),
        }
    }
    if !entry.remotes.is_empty() {
        why.push("it has remote endpoints: mount it with mount_mcp_server(registry=…)".to_owned());
    }
    Err(Error::NotRunnable {
        name: entry.name.clone(),
        why,
    })
}

/// The first remote endpoint of `entry`, its `{variables}` filled in.
///
/// # Errors
/// [`Error::NotRunnable`] when it has none (or none the daemon can send the headers of),
/// [`Error::Missing`] for variables without a value.
pub fn remote(entry: &ServerDetail, given: Given<'_>) -> Result<Remote, Error> {
    let mut why = Vec::new();
    for endpoint in &entry.remotes {
        let transport = match endpoint.kind.as_str() {
            "streamable-http" => MountTransport::StreamableHttp,
            "sse" => MountTransport::Sse,
            other => {
                why.push(format!("remote of type {other:?}: not an HTTP transport"));
                continue;
            }
        };
        let needed: Vec<&str> = endpoint
            .headers
            .iter()
            .filter(|h| h.input.is_required)
            .map(|h| h.name.as_str())
            .collect();
        if !needed.is_empty() {
            why.push(format!(
                "remote {}: needs headers the daemon cannot send on a mount ({})",
                endpoint.url.as_deref().unwrap_or_default(),
                needed.join(", ")
            ));
            continue;
        }
        let mut missing = Vec::new();
        let url = fill(
            endpoint.url.as_deref().unwrap_or_default(),
            &endpoint.variables,
            given,
            &mut missing,
        )?;
        if !missing.is_empty() {
            return Err(Error::Missing {
                name: entry.name.clone(),
                missing,
            });
        }
        return Ok(Remote { url, transport });
    }
    if !entry.packages.is_empty() {
        why.push("it has packages: start it with create_mcp_server(registry=…)".to_owned());
    }
    Err(Error::NotRunnable {
        name: entry.name.clone(),
        why,
    })
}

/// How a package runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Npx,
    Uvx,
    /// An image serving MCP over HTTP on this port.
    Image(u16),
}

/// How `package` can run, or why it cannot.
fn runnable(package: &Package) -> Result<Kind, String> {
    let hint = package.runtime_hint.as_deref();
    let stdio = package.transport.kind == "stdio";
    let public = package
        .registry_base_url
        .as_deref()
        .is_none_or(|url| PUBLIC_REGISTRIES.contains(&url.trim_end_matches('/')));
    let runner_args = package
        .runtime_arguments
        .iter()
        .any(|a| a.input.is_required || a.input.value.is_some());
    match package.registry_type.as_str() {
        "npm" | "pypi" if !public => Err(format!(
            "from {}: children install from the daemon's registries (--npm-registry, --pip-index-url)",
            package.registry_base_url.as_deref().unwrap_or_default()
        )),
        "npm" | "pypi" if !stdio => Err(format!(
            "transport {:?}: the daemon runs packages over stdio",
            package.transport.kind
        )),
        "npm" | "pypi" if runner_args => {
            Err("it needs runner arguments; the daemon runs the package alone".to_owned())
        }
        "npm" if hint.is_none_or(|h| h == "npx") => Ok(Kind::Npx),
        "pypi" if hint.is_none_or(|h| h == "uvx") => Ok(Kind::Uvx),
        "npm" | "pypi" => Err(format!(
            "runtime hint {:?}: the daemon runs npm packages with npx and PyPI ones with uvx",
            hint.unwrap_or_default()
        )),
        "oci" if stdio => Err(
            "the image speaks stdio; the daemon runs images that serve MCP over HTTP".to_owned(),
        ),
        "oci" => {
            let url = package.transport.url.as_deref().unwrap_or_default();
            let port = reqwest::Url::parse(&url.replace(['{', '}'], ""))
                .ok()
                .and_then(|u| u.port_or_known_default());
            port.map(Kind::Image)
                .ok_or_else(|| format!("transport URL {url:?} names no port"))
        }
        other => Err(format!(
            "registry type {other:?}: the daemon runs npm, PyPI and OCI packages"
        )),
    }
}

/// The configuration running `package` of `entry` as `kind`.
fn build(
    entry: &ServerDetail,
    package: &Package,
    kind: Kind,
    given: Given<'_>,
) -> Result<EphemeralMcpServerConfig, Error> {
    let mut missing = Vec::new();
    let args = arguments(&package.package_arguments, given, &mut missing)?;
    let env = environment(&package.environment_variables, given, &mut missing)?;
    if !missing.is_empty() {
        return Err(Error::Missing {
            name: entry.name.clone(),
            missing,
        });
    }
    let mut config = match kind {
        Kind::Npx | Kind::Uvx => {
            let exec = if kind == Kind::Npx { "npx" } else { "uvx" };
            let spec = format!("{}@{}", package.identifier, package.version);
            let quoted: Vec<String> = args
                .iter()
                .map(|a| shlex::try_quote(a).map(|q| q.into_owned()))
                .collect::<Result<_, _>>()
                .map_err(|_| Error::Invalid("an argument holds a NUL byte".to_owned()))?;
            EphemeralMcpServerConfig::runtime(exec, spec).with_args(quoted.join(" "))
        }
        Kind::Image(port) => {
            if !args.is_empty() {
                return Err(Error::NotRunnable {
                    name: entry.name.clone(),
                    why: vec![
                        "its image takes arguments; the daemon runs images as they are".to_owned(),
                    ],
                });
            }
            EphemeralMcpServerConfig {
                runtime_exec: None,
                runtime_mcp: None,
                image: image_reference(package),
                port,
                ..EphemeralMcpServerConfig::default()
            }
        }
    };
    config.env = env;
    // The caller's other variables pass as for any create (the policy checks them).
    for (name, value) in given.env {
        config
            .env
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
    Ok(config)
}

/// The image of an OCI package: its identifier, with the registry's host when the
/// identifier names none, and the version as tag unless it has one.
fn image_reference(package: &Package) -> String {
    let id = &package.identifier;
    let first = id.split('/').next().unwrap_or_default();
    let has_host =
        id.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let host = package
        .registry_base_url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_owned));
    let mut image = match host {
        Some(host) if !has_host => format!("{host}/{id}"),
        _ => id.clone(),
    };
    let last = image.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !image.contains('@') {
        image = format!("{image}:{}", package.version);
    }
    image
}

/// The words of `args`: fixed values, given values or defaults; required ones missing are
/// added to `missing`.
fn arguments(
    args: &[Argument],
    given: Given<'_>,
    missing: &mut Vec<String>,
) -> Result<Vec<String>, Error> {
    let mut words = Vec::new();
    for arg in args {
        let flag = arg.name.as_deref().filter(|_| arg.kind == "named");
        let key = flag
            .map(|f| f.trim_start_matches('-'))
            .or(arg.value_hint.as_deref())
            .unwrap_or_default();
        if arg.input.is_secret && given.inputs.contains_key(key) {
            return Err(Error::SecretInClear(format!(
                "argument {key}: a secret on a command line is visible to every process; the daemon passes secrets only as environment variables"
            )));
        }
        let value = match &arg.input.value {
            Some(fixed) => Some(fill(fixed, &arg.input.variables, given, missing)?),
            None => pick(key, &arg.input, given.inputs.get(key), missing)?,
        };
        let Some(value) = value else { continue };
        if let Some(flag) = flag {
            words.push(flag.to_owned());
        }
        words.push(value);
    }
    Ok(words)
}

/// The environment of `vars`: given values (secrets only as references), fixed values or
/// defaults; required ones missing are added to `missing`.
fn environment(
    vars: &[KeyValueInput],
    given: Given<'_>,
    missing: &mut Vec<String>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut env = BTreeMap::new();
    for var in vars {
        let offered = given.env.get(&var.name);
        if var.input.is_secret && offered.is_some_and(|v| !by_reference(v)) {
            return Err(Error::SecretInClear(format!(
                "{} is a secret: pass it by reference, e.g. \"${{MCP_SECRET_{}}}\" (a variable of the daemon) or \"${{secret:NAME/KEY}}\" (a Kubernetes Secret), never its value",
                var.name, var.name
            )));
        }
        let value = match (&var.input.value, offered) {
            (_, Some(value)) => Some(value.clone()),
            (Some(fixed), None) => Some(fill(fixed, &var.input.variables, given, missing)?),
            (None, None) => pick(&var.name, &var.input, None, missing)?,
        };
        if let Some(value) = value {
            env.insert(var.name.clone(), value);
        }
    }
    Ok(env)
}

/// `offered`, else the default; a required input without either goes to `missing`.
fn pick(
    name: &str,
    input: &Input,
    offered: Option<&String>,
    missing: &mut Vec<String>,
) -> Result<Option<String>, Error> {
    let value = offered.cloned().or_else(|| input.default.clone());
    if let Some(value) = &value
        && !input.choices.is_empty()
        && !input.choices.contains(value)
    {
        return Err(Error::NotAChoice {
            name: name.to_owned(),
            value: crate::model::cut(value, 100).into_owned(),
            choices: input.choices.clone(),
        });
    }
    if value.is_none() && input.is_required {
        let about = input
            .description
            .as_deref()
            .map(|d| format!(" ({})", crate::model::cut(d, 100)))
            .unwrap_or_default();
        missing.push(format!("{name}{about}"));
    }
    Ok(value)
}

/// `template` with each `{name}` replaced by its variable's value (given, else default);
/// a name that is no variable stays as it is, as the schema says.
fn fill(
    template: &str,
    variables: &BTreeMap<String, Input>,
    given: Given<'_>,
    missing: &mut Vec<String>,
) -> Result<String, Error> {
    let mut out = template.to_owned();
    for (name, input) in variables {
        let placeholder = format!("{{{name}}}");
        if !out.contains(&placeholder) {
            continue;
        }
        if input.is_secret && given.inputs.contains_key(name) {
            return Err(Error::SecretInClear(format!(
                "{name} is a secret; the daemon passes secrets only as environment variables"
            )));
        }
        let value = match &input.value {
            Some(fixed) => Some(fixed.clone()),
            None => pick(name, input, given.inputs.get(name), missing)?,
        };
        if let Some(value) = value {
            out = out.replace(&placeholder, &value);
        }
    }
    Ok(out)
}

/// Whether `value` takes its secret from a reference (`${VAR}`, `${secret:NAME/KEY}`)
/// rather than holding it.
fn by_reference(value: &str) -> bool {
    let unescaped = value.replace("$${", "");
    unescaped
        .find("${")
        .is_some_and(|at| unescaped[at..].contains('}'))
}
