//! Finding and calling mounted tools without their being in tools/list: listing them,
//! searching them by what they do, and calling one by name.

use rmcp::{
    RoleServer,
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    model::{CallToolRequestParams, CallToolResponse, CallToolResult, Tool},
    service::RequestContext,
    tool, tool_router,
};

use super::{
    MetaServer,
    authorize::principal,
    forward::RoutedCall,
    params::{CallMountedParams, FoundTool, ListOutput, MountedTool, SearchParams},
    tools::{list_result, require},
};
use crate::{
    model::Principal,
    mount::{Mounts, search},
    upstream::Caller,
};

/// Results `search_mounted_tools` returns unless asked otherwise, and at most.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 50;

/// The longest query, in bytes.
const MAX_QUERY_BYTES: usize = 1_000;

/// `tool`, as listed to `who`, with the mount that serves it.
fn mounted_tool(mounts: &Mounts, who: &Principal, tool: Tool) -> MountedTool {
    let route = mounts.route_tool(&tool.name, who);
    MountedTool {
        name: tool.name.to_string(),
        mount: route.as_ref().and_then(|(m, _)| m.name.clone()),
        job_name: route.as_ref().and_then(|(m, _)| m.job_name.clone()),
        title: tool.title.clone(),
        description: tool.description.map(|d| d.to_string()),
        input_schema: (*tool.input_schema).clone(),
        output_schema: tool.output_schema.map(|s| (*s).clone()),
    }
}

#[tool_router(router = discovery_router, vis = "pub(super)")]
impl MetaServer {
    /// Lists the tools of every mount.
    #[tool(
        description = "List the tools of the mounted servers with their input schemas: the same tools tools/list shows, for clients that do not refresh their tool list.",
        output_schema = schema_for_output::<ListOutput<MountedTool>>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_mounted_tools(&self, context: RequestContext<RoleServer>) -> CallToolResult {
        let who = principal(&context);
        let mounts = self.manager.mounts();
        let tools = mounts.tools(&who).into_iter();
        list_result(tools.map(|tool| mounted_tool(mounts, &who, tool)).collect())
    }

    /// Calls a mounted tool by name.
    #[tool(
        description = "Call a tool of a mounted server by the name list_mounted_tools shows, with its arguments. Returns the tool's own result.",
        annotations(open_world_hint = true)
    )]
    async fn call_mounted_tool(
        &self,
        Parameters(params): Parameters<CallMountedParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, String> {
        let name = require(
            "name",
            &params.name,
            "pass a tool name from list_mounted_tools",
        )?;
        let mut call = CallToolRequestParams::new(name.clone());
        call.arguments = params.arguments;
        let who = principal(&context);
        let Some(routed) = RoutedCall::route(&self.manager, call, &who) else {
            let gone = self.manager.mounts().explain_gone(&name, &who);
            return Err(gone.unwrap_or_else(|| {
                let name = crate::model::cut(&name, 100);
                format!("no mounted tool {name:?}; list_mounted_tools shows the mounted tools")
            }));
        };
        let caller = Caller::of(&context, true, self.session_id);
        routed.call(&self.manager, caller, &context.ct).await
    }

    /// Finds mounted tools by what they do.
    #[tool(
        description = "Search the tools of the mounted servers you can use by what you want to do (e.g. \"current time in Tokyo\", \"read a file\"): ranked by how well their names, descriptions and parameters match, best first, each with its input schema, ready for call_mounted_tool. Use it when tools/list does not show every mounted tool.",
        output_schema = schema_for_output::<ListOutput<FoundTool>>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search_mounted_tools(
        &self,
        Parameters(params): Parameters<SearchParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, String> {
        let query = require("query", &params.query, "say what the tool should do")?;
        if query.len() > MAX_QUERY_BYTES {
            return Err(format!(
                "query is {} bytes; at most {MAX_QUERY_BYTES}",
                query.len()
            ));
        }
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(format!("limit must be between 1 and {MAX_LIMIT}"));
        }
        let who = principal(&context);
        let mounts = self.manager.mounts();
        let tools = mounts.tools(&who);
        let ranked = search::rank(&tools, &query, limit);
        let found = ranked.into_iter().map(|(index, score)| FoundTool {
            tool: mounted_tool(mounts, &who, tools[index].clone()),
            score: (score * 1000.0).round() / 1000.0,
        });
        Ok(list_result(found.collect()))
    }
}
