//! Servers from the operator's MCP Registry: `create_mcp_server(registry=…)` runs an
//! entry's package, `mount_mcp_server(registry=…)` mounts its remote endpoint, and
//! `search_registry` finds entries (listed only when a registry is configured).

use std::collections::BTreeMap;

use rmcp::{
    RoleServer,
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    model::CallToolResult,
    service::RequestContext,
    tool, tool_router,
};

use super::{
    MetaServer,
    params::{CreateParams, ListOutput, RegistryListing, SearchRegistryParams},
    tools::list_result,
};
use crate::{
    model::EphemeralMcpServerConfig,
    registry::{
        Registry, ServerDetail,
        resolve::{self, Given, Remote},
    },
};

/// The name of the tool listed only with a registry.
pub const SEARCH_TOOL: &str = "search_registry";

/// Entries `search_registry` returns unless asked otherwise, and at most.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

impl MetaServer {
    /// The registry, or why there is none.
    fn registry(&self) -> Result<&Registry, String> {
        self.manager.registry().ok_or_else(|| {
            "no MCP Registry is configured here (the operator sets --registry-url or \
             --registry-dir); use runtime_exec/runtime_mcp or a preset"
                .to_owned()
        })
    }

    /// The entry `name` at `version`.
    async fn entry(&self, name: &str, version: Option<&str>) -> Result<ServerDetail, String> {
        let registry = self.registry()?;
        registry.get(name, version).await.map_err(|e| e.to_string())
    }

    /// The configuration running registry entry `name` for a create of `params` (its
    /// `version`, `inputs` and `env`), which may say nothing else of what runs (`preset`
    /// given too: `preset_given`); policy and limits are checked by the create, as for any
    /// configuration.
    pub(super) async fn registry_config(
        &self,
        name: &str,
        params: &CreateParams,
        preset_given: bool,
    ) -> Result<EphemeralMcpServerConfig, String> {
        let conflicting = [
            ("preset", preset_given),
            ("runtime_exec", params.runtime_exec.is_some()),
            ("runtime_mcp", params.runtime_mcp.is_some()),
            ("runtime_args", !params.runtime_args.is_empty()),
            ("image", params.image.is_some()),
        ];
        if let Some((field, _)) = conflicting.iter().find(|(_, given)| *given) {
            return Err(format!(
                "give either registry ({name:?}) or {field}, not both: the entry says what \
                 runs (its arguments go in inputs)"
            ));
        }
        let version = params.version.as_deref().filter(|v| !v.trim().is_empty());
        let entry = self.entry(name, version).await?;
        let given = Given {
            inputs: &params.inputs,
            env: &params.env,
        };
        resolve::package_config(&entry, given).map_err(|e| e.to_string())
    }

    /// The remote endpoint of registry entry `name` (at `version`), `inputs` filled in.
    pub(super) async fn registry_remote(
        &self,
        name: &str,
        version: Option<&str>,
        inputs: &BTreeMap<String, String>,
    ) -> Result<Remote, String> {
        let entry = self.entry(name, version).await?;
        let env = BTreeMap::new();
        resolve::remote(&entry, Given { inputs, env: &env }).map_err(|e| e.to_string())
    }
}

#[tool_router(router = registry_router, vis = "pub(super)")]
impl MetaServer {
    /// Finds MCP Registry entries.
    #[tool(
        description = "Search the MCP Registry the operator configured for servers to run: entries whose name, title or description contain every word of query (empty: all), latest versions. Start one with create_mcp_server(registry=<name>), or mount a remote one with mount_mcp_server(registry=<name>).",
        output_schema = schema_for_output::<ListOutput<RegistryListing>>(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn search_registry(
        &self,
        Parameters(params): Parameters<SearchRegistryParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, String> {
        if params.query.len() > 200 {
            return Err("query is at most 200 bytes".to_owned());
        }
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(format!("limit must be between 1 and {MAX_LIMIT}"));
        }
        let found = self.registry()?.search(&params.query, limit).await;
        let found = found.map_err(|e| e.to_string())?;
        let listed = found.into_iter().map(|entry| RegistryListing {
            packages: entry
                .packages
                .iter()
                .map(|p| format!("{} {}@{}", p.registry_type, p.identifier, p.version))
                .collect(),
            remotes: entry.remotes.iter().filter_map(|r| r.url.clone()).collect(),
            name: entry.name,
            title: entry.title,
            description: entry.description,
            version: entry.version,
        });
        Ok(list_result(listed.collect()))
    }
}
