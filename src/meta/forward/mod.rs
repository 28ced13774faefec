//! Forwarding a client's request to the mount that owns it, and its answer back: tool
//! calls, resource reads and subscriptions, prompts and completions, with names translated
//! back to the child's. A mounted `tools/call` reaches [`call_tool`] from one of two
//! entries — rmcp's session machinery ([`MetaServer`]'s `call_tool`), or [`MountedCalls`],
//! the layer in front of `/mcp` that serves it without that machinery — and leaves through
//! [`crate::upstream::Upstream::forward`]. Both entries route the tool once and say
//! explicitly, in a [`Caller`], where the call's progress and requests go.

#![expect(
    deprecated,
    reason = "resources/subscribe and logging are part of 2025-11-25, which we serve"
)]

mod http;
mod input;
mod replay;
mod response;

use std::sync::Arc;

use rmcp::{
    ErrorData as McpError, RoleServer,
    model::{
        CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, ClientRequest,
        CompleteRequest, CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequest,
        GetPromptRequestParams, GetPromptResponse, ReadResourceRequest, ReadResourceRequestParams,
        ReadResourceResponse, Reference, ResourceContents, ServerResult, SubscribeRequest,
        SubscribeRequestParams, UnsubscribeRequest, UnsubscribeRequestParams,
    },
    service::RequestContext,
};
use tokio_util::sync::CancellationToken;

use super::{MetaServer, authorize::principal};
use crate::{
    manager::SessionManager,
    mount::{self, Mount, catalog::rename_uri},
    upstream::{Caller, Rounds, tool_call_response},
};
pub use http::MountedCalls;
pub(super) use response::Shape;

/// A mounted tool call, routed: the mount that has the tool, and the call with the tool's
/// name as the mount's server knows it.
pub(super) struct RoutedCall {
    mount: Arc<Mount>,
    params: CallToolRequestParams,
}

impl RoutedCall {
    /// Routes `params` for `who`; `None` when no mount `who` may use has the tool.
    pub(super) fn route(
        manager: &SessionManager,
        mut params: CallToolRequestParams,
        who: &crate::model::Principal,
    ) -> Option<Self> {
        let (mount, original) = manager.mounts().route_tool(&params.name, who)?;
        params.name = original.into();
        Some(Self { mount, params })
    }

    /// Calls the tool for `caller`; `ct` cancels it. Failures (the mount is unreachable,
    /// its server refused) come back as the error text.
    pub(super) async fn call(
        self,
        manager: &SessionManager,
        caller: Caller,
        ct: &CancellationToken,
    ) -> Result<CallToolResponse, String> {
        let Self { mount, mut params } = self;
        for _ in 0..input::MAX_ROUNDS {
            let request = ClientRequest::CallToolRequest(CallToolRequest::new(params.clone()));
            let result = match manager
                .mounts()
                .forward(&mount, request, caller.clone(), ct)
                .await
            {
                Ok(result) => tool_call_response(result).ok_or_else(|| {
                    format!("{} answered tools/call with something else", mount.label())
                })?,
                Err(mount::Error::Server(e)) => {
                    return Err(format!("{}: {}", mount.label(), e.message));
                }
                Err(e) => return Err(describe(manager, &mount, e).await),
            };
            let CallToolResponse::InputRequired(asked) = result else {
                return Ok(result);
            };
            // A 2026-07-28 server asks: our caller's client answers, and the call goes again.
            let (responses, state) = input::answers(&caller, asked, ct).await?;
            params.input_responses = Some(responses);
            params.request_state = state;
        }
        Err(format!(
            "{} still asked for input after {} rounds",
            mount.label(),
            input::MAX_ROUNDS
        ))
    }

    /// [`Self::call`], with a failure as the tool's error result.
    pub(super) async fn answer(
        self,
        manager: &SessionManager,
        caller: Caller,
        ct: &CancellationToken,
    ) -> CallToolResponse {
        self.call(manager, caller, ct)
            .await
            .unwrap_or_else(|text| CallToolResult::error(vec![ContentBlock::text(text)]).into())
    }
}

/// The error `who` gets for a tool nobody serves: why it is gone, when it belonged to a
/// mount removed lately, else that it is unknown.
pub(super) fn unknown_tool(
    manager: &SessionManager,
    name: &str,
    who: &crate::model::Principal,
) -> McpError {
    let text = manager.mounts().explain_gone(name, who).unwrap_or_else(|| {
        let name = crate::model::cut(name, 100);
        format!("unknown tool {name:?}; call tools/list to see the tools")
    });
    McpError::invalid_params(text, None)
}

/// An error's text, with the child's state when the mount is unavailable, so the user
/// sees why (e.g. the child exited) and not only that the connection failed.
async fn describe(manager: &SessionManager, mount: &Mount, error: mount::Error) -> String {
    let mut text = error.to_string();
    if let (mount::Error::Unavailable { .. }, Some(job_name)) = (&error, &mount.job_name) {
        match manager.get_mcp_server_status(job_name).await {
            Ok(status) => {
                text.push_str(&format!("; server {job_name} is {:?}", status.phase));
                if let Some(last_error) = status.last_error {
                    text.push_str(&format!(" ({last_error})"));
                }
            }
            Err(e) => text.push_str(&format!("; {e}")),
        }
    }
    text
}

impl MetaServer {
    /// Serves a mounted tool call of a 2026-07-28 client, in rounds: a new call runs on a
    /// task of its own; a retry with a `requestState` continues the call it names.
    pub(super) async fn call_in_rounds(
        &self,
        mut params: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        who: &crate::model::Principal,
    ) -> Result<CallToolResponse, McpError> {
        let tool = params.name.to_string();
        let call = match self.rounds.resume(&mut params, who)? {
            Some(call) => call,
            None => {
                let routed = RoutedCall::route(&self.manager, params, who)
                    .ok_or_else(|| unknown_tool(&self.manager, &tool, who))?;
                let manager = self.manager.clone();
                let caller = Caller::of(context, true, self.session_id);
                Rounds::start(caller, move |caller, ct| async move {
                    routed.answer(&manager, caller, &ct).await
                })
            }
        };
        self.rounds.drive(call, who, tool, context).await
    }

    /// Sends a non-tool request to `mount`; its failures become JSON-RPC errors.
    async fn ask(
        &self,
        mount: &Mount,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, McpError> {
        let caller = Caller::of(context, false, self.session_id);
        let forwarded = self
            .manager
            .mounts()
            .forward(mount, request, caller, &context.ct);
        match forwarded.await {
            Ok(result) => Ok(result),
            Err(mount::Error::Server(e)) => Err(e),
            Err(e) => Err(McpError::internal_error(
                describe(&self.manager, mount, e).await,
                None,
            )),
        }
    }

    /// Reads a mounted resource, with the contents' URIs as the meta-server shows them.
    pub(super) async fn read_mounted(
        &self,
        mut params: ReadResourceRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let Some((mount, original)) = self
            .manager
            .mounts()
            .route_resource(&params.uri, &principal(context))
        else {
            // The URI in `data`, as SEP-2164 asks; the code becomes -32602 for 2026-07-28.
            return Err(McpError::resource_not_found(
                format!(
                    "no resource {:?}; resources/list shows what exists",
                    params.uri
                ),
                Some(serde_json::json!({ "uri": params.uri })),
            ));
        };
        params.uri = original;
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params));
        match self.ask(&mount, request, context).await? {
            ServerResult::ReadResourceResult(mut result) => {
                for contents in &mut result.contents {
                    if let ResourceContents::TextResourceContents { uri, .. }
                    | ResourceContents::BlobResourceContents { uri, .. } = contents
                    {
                        *uri = rename_uri(mount.name.as_deref(), uri);
                    }
                }
                Ok(ReadResourceResponse::Complete(result))
            }
            ServerResult::InputRequiredResult(result) => {
                Ok(ReadResourceResponse::InputRequired(result))
            }
            _ => Err(unexpected(&mount, "resources/read")),
        }
    }

    /// Gets a mounted prompt.
    pub(super) async fn get_mounted_prompt(
        &self,
        mut params: GetPromptRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let Some((mount, original)) = self
            .manager
            .mounts()
            .route_prompt(&params.name, &principal(context))
        else {
            return Err(McpError::invalid_params(
                format!(
                    "no prompt {:?}; prompts/list shows what exists",
                    params.name
                ),
                None,
            ));
        };
        params.name = original;
        match self
            .ask(
                &mount,
                ClientRequest::GetPromptRequest(GetPromptRequest::new(params)),
                context,
            )
            .await?
        {
            ServerResult::GetPromptResult(result) => Ok(GetPromptResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(GetPromptResponse::InputRequired(result))
            }
            _ => Err(unexpected(&mount, "prompts/get")),
        }
    }

    /// Completes an argument of a mounted prompt or resource template.
    pub(super) async fn complete_mounted(
        &self,
        mut params: CompleteRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let mounts = self.manager.mounts();
        let who = principal(context);
        let route = match &mut params.r#ref {
            Reference::Prompt(prompt) => {
                mounts.route_prompt(&prompt.name, &who).map(|(m, name)| {
                    prompt.name = name;
                    m
                })
            }
            Reference::Resource(resource) => {
                mounts.route_template(&resource.uri, &who).map(|(m, uri)| {
                    resource.uri = uri;
                    m
                })
            }
            _ => None,
        };
        let Some(mount) = route else {
            return Err(McpError::invalid_params(
                "nothing to complete for that reference",
                None,
            ));
        };
        match self
            .ask(
                &mount,
                ClientRequest::CompleteRequest(CompleteRequest::new(params)),
                context,
            )
            .await?
        {
            ServerResult::CompleteResult(result) => Ok(result),
            _ => Err(unexpected(&mount, "completion/complete")),
        }
    }

    /// Subscribes this session to a mounted resource.
    pub(super) async fn subscribe_mounted(
        &self,
        params: SubscribeRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let exposed = params.uri.clone();
        let (mount, original) = self.route_subscription(&exposed, context)?;
        let mut params = params;
        params.uri = original.clone();
        self.ask(
            &mount,
            ClientRequest::SubscribeRequest(SubscribeRequest::new(params)),
            context,
        )
        .await?;
        mount.note_subscribed(&original);
        self.manager.sessions().subscribe(self.session_id, &exposed);
        Ok(())
    }

    /// Ends this session's subscription to a mounted resource (upstream too when it was
    /// the last subscriber).
    pub(super) async fn unsubscribe_mounted(
        &self,
        params: UnsubscribeRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let exposed = params.uri.clone();
        let (mount, original) = self.route_subscription(&exposed, context)?;
        if self
            .manager
            .sessions()
            .unsubscribe(self.session_id, &exposed)
        {
            mount.note_unsubscribed(&original);
            let mut params = params;
            params.uri = original;
            self.ask(
                &mount,
                ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(params)),
                context,
            )
            .await?;
        }
        Ok(())
    }

    fn route_subscription(
        &self,
        uri: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<(Arc<Mount>, String), McpError> {
        let who = principal(context);
        self.manager
            .mounts()
            .route_resource(uri, &who)
            .ok_or_else(|| {
                McpError::resource_not_found(format!("no resource {uri:?} to subscribe to"), None)
            })
    }
}

fn unexpected(mount: &Mount, what: &str) -> McpError {
    McpError::internal_error(
        format!("{} answered {what} with something else", mount.label()),
        None,
    )
}
