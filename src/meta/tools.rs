//! The meta tools: what the daemon itself offers.

use std::time::Duration;

use rmcp::{
    Json, RoleServer,
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    model::{CallToolResult, ContentBlock},
    service::RequestContext,
    tool, tool_router,
};
use serde::Serialize;

use super::{
    MetaServer,
    authorize::principal,
    params::{
        CreateParams, DeleteParams, ListOutput, MountOutput, MountParams, PresetListing,
        RemoveMountParams, RemovedMounts, StatusParams,
    },
    progress,
};
use crate::{
    access::Action,
    backend::Progress,
    manager::CreateOptions,
    model::{
        DeletedServer, EphemeralMcpServer, EphemeralMcpServerConfig, ServerStatus, redact_url,
    },
    model::{Ownership, ToolSelection},
    presets::Preset,
};

/// The names of the meta tools, which mounts can never shadow. A test checks it matches
/// the router.
pub const TOOL_NAMES: [&str; 11] = [
    "call_mounted_tool",
    "create_mcp_server",
    "delete_mcp_server",
    "get_mcp_server_status",
    "list_mcp_servers",
    "list_mounted_tools",
    "list_presets",
    "mount_mcp_server",
    "remove_mcp_server_mount",
    "search_mounted_tools",
    "search_registry",
];

/// A tool result holding a list: the JSON array as text and `{"result": [...]}` as
/// structured content.
pub(super) fn list_result<T: Serialize>(items: Vec<T>) -> CallToolResult {
    let text = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
    let structured = serde_json::to_value(ListOutput { result: items }).unwrap_or_default();
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

pub(super) fn require(field: &str, value: &str, hint: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{field} is required: {hint}"));
    }
    Ok(value.to_owned())
}

const JOB_NAME_HINT: &str =
    "pass the job_name returned by create_mcp_server (list_mcp_servers shows them all)";

/// An optional text parameter: absent, or present and not blank.
fn optional(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[tool_router(vis = "pub(super)")]
impl MetaServer {
    /// Lists the preset server configurations.
    #[tool(
        description = "List the preset MCP servers (name, description and configuration); pass a name as `preset` to create_mcp_server.",
        output_schema = schema_for_output::<ListOutput<PresetListing>>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_presets(&self) -> CallToolResult {
        let presets = self.manager.presets().all().iter().map(|p| PresetListing {
            pool_ready: self.manager.pool_size(&p.name).map(|(ready, _)| ready),
            preset: Preset {
                config: p.config.redacted(),
                ..p.clone()
            },
        });
        list_result(presets.collect())
    }

    /// Lists the servers this daemon runs.
    #[tool(
        description = "List the MCP servers this daemon has created and not deleted, with their endpoints and mounts.",
        output_schema = schema_for_output::<ListOutput<EphemeralMcpServer>>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_mcp_servers(&self, context: RequestContext<RoleServer>) -> CallToolResult {
        let who = principal(&context);
        let servers = self.manager.list_mcp_servers().into_iter();
        let visible = servers.filter(|s| s.ownership.allows(&who));
        // A child's token is for its owner, through create and status only.
        let listed = visible.map(|s| EphemeralMcpServer {
            authorization: None,
            ..s
        });
        list_result(listed.collect())
    }

    /// Starts a server.
    #[tool(
        description = "Create a new ephemeral MCP server running a package with a runtime executor (e.g. runtime_exec='uvx', runtime_mcp='mcp-server-time'; or runtime_exec='npx', runtime_mcp='@modelcontextprotocol/server-filesystem', runtime_args='/tmp'), or from a preset, or from an MCP Registry entry (registry='io.github.owner/name'; see search_registry). Returns its job_name and its endpoints: `url` (streamable HTTP) and `sse_url` (legacy SSE). With wait_for_ready=true it returns once the server answers, reporting progress meanwhile. Mount it (mount_mcp_server) to use its tools here.",
        annotations(destructive_hint = false, open_world_hint = true)
    )]
    async fn create_mcp_server(
        &self,
        Parameters(params): Parameters<CreateParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<EphemeralMcpServer>, String> {
        let registry = optional(params.registry.clone());
        if registry.is_none() && (params.version.is_some() || !params.inputs.is_empty()) {
            return Err(
                "version and inputs are for a registry entry: give registry too".to_owned(),
            );
        }
        let (config, preset) = match (registry, optional(params.preset.clone())) {
            (Some(entry), preset) => {
                let preset_given = preset.is_some();
                (
                    self.registry_config(&entry, &params, preset_given).await?,
                    None,
                )
            }
            (None, Some(name)) => {
                if params.runtime_exec.is_some() || params.runtime_mcp.is_some() {
                    return Err(format!(
                        "give either preset ({name:?}) or runtime_exec/runtime_mcp, not both"
                    ));
                }
                let config = self
                    .manager
                    .preset_config(&name, params.runtime_args, params.env)
                    .map_err(|e| e.to_string())?;
                (config, Some(name))
            }
            (None, None) => {
                let image = optional(params.image);
                if params.runtime_exec.is_none() && params.runtime_mcp.is_none() && image.is_none()
                {
                    return Err(
                        "runtime_exec and runtime_mcp are required (e.g. runtime_exec='uvx', \
                                runtime_mcp='mcp-server-time'), or give a preset (see list_presets)"
                            .to_owned(),
                    );
                }
                let mut config = EphemeralMcpServerConfig {
                    runtime_exec: params.runtime_exec,
                    runtime_mcp: params.runtime_mcp,
                    runtime_args: params.runtime_args,
                    env: params.env,
                    ..Default::default()
                };
                if let Some(image) = image {
                    config.image = image;
                }
                if let Some(port) = params.port {
                    config.port = port;
                }
                (config, None)
            }
        };
        let who = principal(&context);
        let (progress, messages) = Progress::channel();
        let token = context.meta.get_progress_token();
        let relay = progress::relay(messages, context.peer.clone(), token, self.logs_info());
        let options = CreateOptions {
            wait_for_ready: params.wait_for_ready,
            expose_port: true,
            ready_timeout: params.ready_timeout_secs.map(Duration::from_secs),
            preset,
            ownership: Ownership::of(&who, params.shared),
            session: Some(self.session_id),
            progress,
        };
        let target = config.command_line();
        let session_ended = self.manager.sessions().ended(self.session_id);
        let result = tokio::select! {
            result = self.manager.create(config, options) => result,
            () = context.ct.cancelled() => return Err("cancelled by the client".to_owned()),
            () = session_ended.cancelled() => return Err("the client ended its session".to_owned()),
        };
        // Every progress message is sent before the result.
        let _ = relay.await;
        let target = result.as_ref().map_or(target, |s| s.job_name.clone());
        self.audited(&who, Action::Create, &target, result)
            .map(Json)
    }

    /// Stops a server.
    #[tool(
        description = "Delete an ephemeral MCP server and everything created for it (processes, or Job, pods and Service); it is unmounted first. Returns the server as it was and what was removed.",
        annotations(
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn delete_mcp_server(
        &self,
        Parameters(params): Parameters<DeleteParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<DeletedServer>, String> {
        let who = principal(&context);
        let job_name = require("job_name", &params.job_name, JOB_NAME_HINT)?;
        self.authorize(&who, Action::Delete, &job_name)?;
        let deleted = self
            .manager
            .delete_mcp_server(&job_name, params.wait_for_deletion)
            .await;
        self.audited(&who, Action::Delete, &job_name, deleted)
            .map(|mut deleted| {
                deleted.server.authorization = None;
                Json(deleted)
            })
    }

    /// Reports a server's state.
    #[tool(
        description = "Get the status of an ephemeral MCP server: phase, whether it is ready, start time, pods or processes, conditions, the last error, the tail of its log, and its mount.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_mcp_server_status(
        &self,
        Parameters(params): Parameters<StatusParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ServerStatus>, String> {
        let job_name = require("job_name", &params.job_name, JOB_NAME_HINT)?;
        let who = principal(&context);
        let ownership = self.authorize(&who, Action::Status, &job_name)?.ownership;
        let mut status = self
            .manager
            .get_mcp_server_status(&job_name)
            .await
            .map_err(|e| e.to_string())?;
        if !ownership.is_owner(&who) {
            status.authorization = None;
        }
        Ok(Json(status))
    }

    /// Mounts a server's tools, resources and prompts here.
    #[tool(
        description = "Mount an MCP server on this server: its tools appear here as `<name>_<tool>` (prompts `<name>_<prompt>`, resources `scheme://<name>/…`) and calls go to it through one persistent session. Give job_name (a server from create_mcp_server; waits until it is ready) or url (any MCP server). Clients are told with notifications/tools/list_changed; clients that ignore it can use list_mounted_tools and call_mounted_tool.",
        annotations(destructive_hint = false, open_world_hint = true)
    )]
    async fn mount_mcp_server(
        &self,
        Parameters(params): Parameters<MountParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<MountOutput>, String> {
        let who = principal(&context);
        let name = optional(params.name);
        let selection = ToolSelection {
            tools: params.tools,
            exclude: params.exclude,
            rename: params.rename,
        };
        let mut url = optional(params.url);
        let mut transport = params.transport;
        if let Some(entry) = optional(params.registry) {
            if params.job_name.is_some() || url.is_some() {
                return Err(format!(
                    "give registry ({entry:?}) alone, without job_name or url"
                ));
            }
            let version = optional(params.version);
            let remote = self
                .registry_remote(&entry, version.as_deref(), &params.inputs)
                .await?;
            transport = transport.or(Some(remote.transport));
            url = Some(remote.url);
        } else if params.version.is_some() || !params.inputs.is_empty() {
            return Err(
                "version and inputs are for a registry entry: give registry too".to_owned(),
            );
        }
        match (optional(params.job_name), url) {
            (Some(job_name), None) => {
                self.authorize(&who, Action::Mount, &job_name)?;
                let mounted = self
                    .manager
                    .mount_mcp_server(&job_name, name, transport, selection)
                    .await;
                let (mut server, mount) = self.audited(&who, Action::Mount, &job_name, mounted)?;
                server.mount = None;
                server.authorization = None;
                Ok(Json(self.mount_output(Some(server), mount, &who)))
            }
            (None, Some(url)) => {
                let ownership = Ownership::of(&who, false);
                let mounted = self
                    .manager
                    .mount_url(&url, name, transport, ownership, selection)
                    .await;
                let mount = self.audited(&who, Action::Mount, &redact_url(&url), mounted)?;
                Ok(Json(self.mount_output(None, mount, &who)))
            }
            (Some(_), Some(_)) => Err("give either job_name or url, not both".to_owned()),
            (None, None) => Err(format!(
                "job_name or url is required: {JOB_NAME_HINT}, or the URL of any MCP server"
            )),
        }
    }

    /// Removes mounts.
    #[tool(
        description = "Remove a mount: the one called `name`, or the mount of `job_name` (for unnamed mounts), or with neither every mount. Its tools, resources and prompts disappear from this server; the server itself keeps running.",
        annotations(destructive_hint = true, open_world_hint = false)
    )]
    async fn remove_mcp_server_mount(
        &self,
        Parameters(params): Parameters<RemoveMountParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<RemovedMounts>, String> {
        let who = principal(&context);
        let (name, job_name) = (optional(params.name), optional(params.job_name));
        let removed = self
            .manager
            .remove_mcp_server_mount(name.as_deref(), job_name.as_deref(), &who)
            .await;
        let target = name.or(job_name).unwrap_or_else(|| "*".to_owned());
        let removed = self.audited(&who, Action::Unmount, &target, removed)?;
        Ok(Json(RemovedMounts { removed }))
    }
}

impl MetaServer {
    /// What `mount_mcp_server` returns to `who` for `mount` (of `server`, when a job).
    fn mount_output(
        &self,
        server: Option<EphemeralMcpServer>,
        mount: crate::model::MountInfo,
        who: &crate::model::Principal,
    ) -> MountOutput {
        let visible = self.manager.mounts().tools(who).len();
        MountOutput {
            server,
            tools_added: mount.tools.len(),
            tools_listed: self.lists_mounted(visible),
            mount,
        }
    }
}
