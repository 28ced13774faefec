//! A mounted server of 2026-07-28 asks its client things in `input_required` results
//! (sampling, elicitation, roots). The daemon asks the caller's own client — a session's
//! client as requests on its session, a 2026-07-28 client through an `input_required`
//! result of the daemon's own (`meta::rounds`) — and the call is retried with the answers.

use rmcp::model::{InputRequest, InputRequiredResult, InputResponses, ServerRequest};
use tokio_util::sync::CancellationToken;

use crate::upstream::{Caller, Relay};

/// Rounds of `input_required` a call may take before the daemon gives up on it.
pub(super) const MAX_ROUNDS: usize = 10;

/// Questions one `input_required` may put to the caller's client.
const MAX_QUESTIONS: usize = 16;

/// The answers of `caller`'s client to what `asked` asks, and the state to send back with
/// them.
///
/// # Errors
/// Why the client could not answer one of them, as the tool's error text.
pub(super) async fn answers(
    caller: &Caller,
    asked: InputRequiredResult,
    ct: &CancellationToken,
) -> Result<(InputResponses, Option<String>), String> {
    let requests = asked.input_requests.unwrap_or_default();
    if requests.len() > MAX_QUESTIONS {
        return Err(format!(
            "the server asked {} questions at once, more than the {MAX_QUESTIONS} the daemon puts \
             to a client; the call was not retried",
            requests.len()
        ));
    }
    let mut responses = InputResponses::new();
    for (key, request) in requests {
        let request = match request {
            InputRequest::CreateMessage(r) => ServerRequest::CreateMessageRequest(r),
            InputRequest::Elicitation(r) => ServerRequest::ElicitRequest(r),
            InputRequest::ListRoots(r) => ServerRequest::ListRootsRequest(r),
            _ => {
                return Err(format!(
                    "the server asked {key:?} something no client can answer"
                ));
            }
        };
        let answer = Relay::ask_caller(caller, request, ct)
            .await
            .map_err(|e| format!("the client did not answer {key:?}: {}", e.message))?;
        let value = serde_json::to_value(&answer)
            .map_err(|e| format!("the client's answer to {key:?} cannot be sent on: {e}"))?;
        responses.insert(key, value);
    }
    Ok((responses, asked.request_state))
}
