//! Decoding of the JSON-RPC messages on the hot path of mounted calls: a `tools/call`
//! request and its answer.
//!
//! rmcp's message types are untagged unions, so serde tries each kind in turn on a
//! buffered copy of the message: a `tools/call` is the 14th kind of client request tried
//! and its result the 16th kind of server result. These functions decode the one kind
//! expected first, in one pass, and fall back to rmcp's full decoding for anything else,
//! so they accept what rmcp accepts and give the same values.

use serde::{Deserialize, de::IgnoredAny};

use rmcp::model::{
    CallToolRequest, CallToolResult, ClientJsonRpcMessage, ClientRequest, JsonRpcMessage,
    JsonRpcRequest, JsonRpcResponse, JsonRpcVersion2_0, RequestId, ServerJsonRpcMessage,
    ServerResult,
};

/// Decodes a message a client sent, trying a `tools/call` request first.
///
/// # Errors
/// When the bytes are not a JSON-RPC message rmcp accepts.
pub fn client_message(bytes: &[u8]) -> serde_json::Result<ClientJsonRpcMessage> {
    tool_call(bytes).map_or_else(|| serde_json::from_slice(bytes), Ok)
}

/// Decodes a message a server sent; when `answers_tool_call` (the message may answer a
/// `tools/call`), an answer carrying a tool's result is tried first.
///
/// # Errors
/// When the text is not a JSON-RPC message rmcp accepts.
pub fn server_message(
    text: &str,
    answers_tool_call: bool,
) -> serde_json::Result<ServerJsonRpcMessage> {
    let answer = answers_tool_call.then(|| tool_answer(text)).flatten();
    answer.map_or_else(|| serde_json::from_str(text), Ok)
}

/// The members of a request besides its method and parameters. A `result` or `error`
/// as well makes the message ambiguous, which rmcp refuses.
#[derive(Deserialize)]
struct RequestHead {
    jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    result: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

/// `bytes` as a `tools/call` request, if it is an unambiguous one.
fn tool_call(bytes: &[u8]) -> Option<ClientJsonRpcMessage> {
    let head: RequestHead = serde_json::from_slice(bytes).ok()?;
    if head.result.is_some() || head.error.is_some() {
        return None;
    }
    // rmcp's own decoding of the method and parameters (it moves `params._meta` into the
    // request's extensions); it ignores the members read above.
    let request: CallToolRequest = serde_json::from_slice(bytes).ok()?;
    Some(JsonRpcMessage::Request(JsonRpcRequest {
        jsonrpc: head.jsonrpc,
        id: head.id,
        request: ClientRequest::CallToolRequest(request),
    }))
}

/// An answer with a tool's result. A `method` or `error` as well makes the message
/// ambiguous, which rmcp refuses.
#[derive(Deserialize)]
struct ToolAnswer {
    jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    result: CallToolResult,
    method: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

/// `text` as the answer to a `tools/call`, if it is an unambiguous one.
fn tool_answer(text: &str) -> Option<ServerJsonRpcMessage> {
    let answer: ToolAnswer = serde_json::from_str(text).ok()?;
    if answer.method.is_some() || answer.error.is_some() {
        return None;
    }
    Some(JsonRpcMessage::Response(JsonRpcResponse {
        jsonrpc: answer.jsonrpc,
        id: answer.id,
        result: ServerResult::CallToolResult(answer.result),
    }))
}

#[cfg(test)]
mod tests {
    use rmcp::model::{NumberOrString, ProgressToken, RequestMetaObject};
    use serde_json::{Value, json};

    use super::*;

    /// What rmcp's own decoding gives (or its error), for comparison.
    fn as_rmcp<T: serde::de::DeserializeOwned + serde::Serialize>(
        message: &Value,
    ) -> Option<Value> {
        serde_json::from_value::<T>(message.clone())
            .ok()
            .map(|m| serde_json::to_value(m).unwrap())
    }

    #[test]
    fn client_messages_decode_as_rmcp_decodes_them() {
        let messages = [
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
                "name": "t_echo", "arguments": {"text": "hi"}, "_meta": {"progressToken": "p1"}}}),
            json!({"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {"name": "x"}}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
            // Ambiguous or malformed: rmcp refuses them, and so does the fast path.
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "x"}, "result": {}}),
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "x"}, "error": {"code": 1, "message": "m"}}),
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"}),
            json!({"jsonrpc": "1.0", "id": 7, "method": "tools/call", "params": {"name": "x"}}),
        ];
        for message in messages {
            let bytes = serde_json::to_vec(&message).unwrap();
            let ours = client_message(&bytes)
                .ok()
                .map(|m| serde_json::to_value(m).unwrap());
            assert_eq!(ours, as_rmcp::<ClientJsonRpcMessage>(&message), "{message}");
        }
    }

    #[test]
    fn a_tool_calls_meta_lands_in_its_extensions_as_rmcp_puts_it() {
        let message = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "t_echo", "_meta": {"progressToken": "p1"}}});
        let Ok(JsonRpcMessage::Request(request)) =
            client_message(&serde_json::to_vec(&message).unwrap())
        else {
            panic!("not a request");
        };
        let ClientRequest::CallToolRequest(call) = request.request else {
            panic!("not a tool call");
        };
        let meta = call.extensions.get::<RequestMetaObject>().unwrap();
        assert_eq!(
            meta.get_progress_token(),
            Some(ProgressToken(NumberOrString::String("p1".into())))
        );
        assert_eq!(call.params.name, "t_echo");
    }

    #[test]
    fn server_messages_decode_as_rmcp_decodes_them() {
        let messages = [
            json!({"jsonrpc": "2.0", "id": "ek-1", "result": {"content": [{"type": "text", "text": "hi"}]}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {"content": [], "structuredContent": null, "isError": true, "_meta": {"k": 1}}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {"structuredContent": {"a": [1, 2]}}}),
            // Not a tool's result: rmcp's decoding decides (a task, an empty result, tools).
            json!({"jsonrpc": "2.0", "id": 3, "result": {"task": {"taskId": "t", "status": "working", "createdAt": "2026-01-01T00:00:00Z", "lastUpdatedAt": "2026-01-01T00:00:00Z", "ttl": null}}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {"tools": []}}),
            json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "no"}}),
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "ek-1", "progress": 1}}),
            json!({"jsonrpc": "2.0", "id": 9, "method": "roots/list"}),
            // Ambiguous: rmcp refuses them, and so does the fast path.
            json!({"jsonrpc": "2.0", "id": 3, "method": "x", "result": {"content": []}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {"content": []}, "error": {"code": 1, "message": "m"}}),
        ];
        for message in messages {
            let text = message.to_string();
            for answers_tool_call in [true, false] {
                let ours = server_message(&text, answers_tool_call)
                    .ok()
                    .map(|m| serde_json::to_value(m).unwrap());
                assert_eq!(ours, as_rmcp::<ServerJsonRpcMessage>(&message), "{message}");
            }
        }
    }

    #[test]
    fn tool_calls_and_their_answers_skip_rmcps_union_decoding() {
        let call =
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "x"}});
        assert!(tool_call(&serde_json::to_vec(&call).unwrap()).is_some());
        let list = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});
        assert!(tool_call(&serde_json::to_vec(&list).unwrap()).is_none());
        let answer = json!({"jsonrpc": "2.0", "id": 7, "result": {"content": []}});
        assert!(tool_answer(&answer.to_string()).is_some());
        let tools = json!({"jsonrpc": "2.0", "id": 7, "result": {"tools": []}});
        assert!(tool_answer(&tools.to_string()).is_none());
    }
}
