//! Multi round-trip calls (2026-07-28) over servers that ask the older way. A server of an
//! older revision sends sampling, elicitation and roots requests while it serves a call; a
//! 2026-07-28 client cannot be sent requests. So a 2026-07-28 client's call (of a mounted
//! tool on the meta-server, of the child's tool on a bridge) runs on a task of its own, and
//! when its server asks, the client's request is answered with an `input_required` result
//! carrying the server's requests and a `requestState`. The client's retry (the same tool,
//! `inputResponses`, that `requestState`) hands the answers to the server's waiting
//! requests and waits again: for the result, or for the next questions.
//!
//! The state names a call parked in this process, sealed (HMAC-SHA256 under a key of this
//! process) with the principal and the tool: it cannot be forged or altered, is no use to
//! anyone else, and is good once. A parked call nobody resumes is cancelled after the call
//! timeout, which ends its server's waiting requests with an error.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use ring::hmac;
use rmcp::{
    ErrorData as McpError, RoleServer,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ClientResult, ContentBlock,
        ErrorCode, InputRequest, InputRequests, InputRequiredResult, InputResponses,
        ProgressNotificationParam, ServerRequest,
    },
    service::RequestContext,
};
use serde_json::Value;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use super::{Ask, Caller};
use crate::{
    model::{Principal, hex},
    sync::lock,
};

/// Parked calls at most; past it a call whose server asks fails instead of parking.
const MAX_PARKED: usize = 1024;

/// Parked calls of one principal at most, so that no one can take every place.
const MAX_PARKED_PER_PRINCIPAL: usize = 64;

/// How long a parked call waits for its retry when calls have no time limit.
const DEFAULT_PATIENCE: Duration = Duration::from_secs(300);

/// The answer the server's request gets.
type Answer = oneshot::Sender<Result<ClientResult, McpError>>;

/// The calls of 2026-07-28 clients waiting for their client's answers, shared by every
/// handler of a server (the meta-server's, a bridge's).
pub struct Rounds {
    key: hmac::Key,
    parked: Mutex<HashMap<String, Parked>>,
    patience: Duration,
}

/// A parked call, with whose it is (for the per-principal cap; the tool is bound in its
/// state's tag).
struct Parked {
    principal: Principal,
    call: RunningCall,
}

/// A call on its own task, with what its server asks.
pub struct RunningCall {
    result: JoinHandle<CallToolResponse>,
    /// Cancels the call upstream; cancelled when this is dropped.
    ct: CancellationToken,
    asks: mpsc::UnboundedReceiver<Ask>,
    progress: mpsc::UnboundedReceiver<ProgressNotificationParam>,
    /// What the server asked and the client has not answered yet, by the key it sees.
    pending: BTreeMap<String, (InputRequest, Answer)>,
    asked: u64,
}

impl Drop for RunningCall {
    fn drop(&mut self) {
        self.ct.cancel();
    }
}

impl Rounds {
    /// Parked calls wait `call_timeout` (or 300 s without one) for their retry.
    pub fn new(call_timeout: Option<Duration>) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &rand::random::<[u8; 32]>()),
            parked: Mutex::default(),
            patience: call_timeout.unwrap_or(DEFAULT_PATIENCE),
        }
    }

    /// The call `params` continues: the one parked under its `requestState`, with its
    /// `inputResponses` handed to the requests they answer; `None` when it has no state (a
    /// new call, to [`Self::start`]).
    ///
    /// # Errors
    /// A `requestState` that is not one this daemon gave `who` for this tool and still
    /// holds; an answer that is not one to the request it answers.
    pub fn resume(
        &self,
        params: &mut CallToolRequestParams,
        who: &Principal,
    ) -> Result<Option<RunningCall>, McpError> {
        let responses = params.input_responses.take();
        let Some(state) = params.request_state.take() else {
            return Ok(None);
        };
        let mut call = self.take(&state, who, &params.name)?;
        call.deliver(responses.unwrap_or_default())?;
        Ok(Some(call))
    }

    /// Starts a call for `caller` on a task of its own: `run` makes it with the caller it is
    /// given (whose server's requests come to the call) and the token that cancels it.
    pub fn start<F, Fut>(caller: Caller, run: F) -> RunningCall
    where
        F: FnOnce(Caller, CancellationToken) -> Fut,
        Fut: Future<Output = CallToolResponse> + Send + 'static,
    {
        RunningCall::start(caller, run)
    }

    /// Waits for `call`, serving `context` (a request of `who` for `tool`): its result, or
    /// an `input_required` result with what its server asks (the call parked meanwhile).
    /// Its progress goes to `context`'s request.
    ///
    /// # Errors
    /// The client cancelled; too many calls are parked.
    pub async fn drive(
        self: &Arc<Self>,
        mut call: RunningCall,
        who: &Principal,
        tool: String,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let token = context.meta.get_progress_token();
        loop {
            if !call.pending.is_empty() {
                // Questions the client has not answered (all new, or some it left out).
                return self.park(call, who, tool);
            }
            tokio::select! {
                biased;
                () = context.ct.cancelled() => {
                    return Err(McpError::internal_error("cancelled by the client", None));
                }
                result = &mut call.result => {
                    return Ok(result.unwrap_or_else(|e| failed(&format!("the call failed: {e}"))));
                }
                Some(ask) = call.asks.recv() => {
                    call.add(ask);
                    while let Ok(ask) = call.asks.try_recv() {
                        call.add(ask);
                    }
                }
                Some(mut progress) = call.progress.recv() => {
                    // To this round's request, under the token it chose.
                    if let Some(token) = &token {
                        progress.progress_token = token.clone();
                        let _ = context.peer.notify_progress(progress).await;
                    }
                }
            }
        }
    }

    /// Parks `call` and asks its client what its server asked.
    fn park(
        self: &Arc<Self>,
        call: RunningCall,
        who: &Principal,
        tool: String,
    ) -> Result<CallToolResponse, McpError> {
        let requests: InputRequests = call
            .pending
            .iter()
            .map(|(key, (request, _))| (key.clone(), request.clone()))
            .collect();
        let id = hex(&rand::random::<[u8; 16]>());
        let state = format!("{id}.{}", hex(self.tag(&id, who, &tool).as_ref()));
        {
            let mut parked = lock(&self.parked);
            let yours = parked.values().filter(|p| p.principal == *who).count();
            if parked.len() >= MAX_PARKED || yours >= MAX_PARKED_PER_PRINCIPAL {
                return Err(McpError::internal_error(
                    format!(
                        "too many calls are waiting for answers ({yours} of yours, {} in all; \
                         at most {MAX_PARKED_PER_PRINCIPAL} of one caller and {MAX_PARKED} in \
                         all): answer or drop some first",
                        parked.len()
                    ),
                    None,
                ));
            }
            let principal = who.clone();
            parked.insert(id.clone(), Parked { principal, call });
        }
        let rounds = Arc::downgrade(self);
        let patience = self.patience;
        tokio::spawn(async move {
            tokio::time::sleep(patience).await;
            if let Some(rounds) = rounds.upgrade() {
                // Dropping it cancels the call and fails its server's requests.
                lock(&rounds.parked).remove(&id);
            }
        });
        Ok(CallToolResponse::InputRequired(InputRequiredResult::new(
            Some(requests),
            Some(state),
        )))
    }

    fn tag(&self, id: &str, who: &Principal, tool: &str) -> hmac::Tag {
        let message = format!("mcp-ephemeral-k8s requestState\n{id}\n{who}\n{tool}");
        hmac::sign(&self.key, message.as_bytes())
    }

    /// The call `state` parked, when this daemon gave it to `who` for `tool` and still has it.
    fn take(&self, state: &str, who: &Principal, tool: &str) -> Result<RunningCall, McpError> {
        let forged = || {
            McpError::invalid_params(
                "requestState is not one this daemon gave you for this tool (altered, or another \
                 caller's or tool's); call the tool again without it",
                None,
            )
        };
        let (id, tag) = state.split_once('.').ok_or_else(forged)?;
        let tag = unhex(tag).ok_or_else(forged)?;
        let message = format!("mcp-ephemeral-k8s requestState\n{id}\n{who}\n{tool}");
        hmac::verify(&self.key, message.as_bytes(), &tag).map_err(|_| forged())?;
        let parked = lock(&self.parked).remove(id).ok_or_else(|| {
            McpError::invalid_params(
                "requestState has expired or was used already; call the tool again without it",
                None,
            )
        })?;
        debug_assert!(parked.principal == *who);
        Ok(parked.call)
    }
}

impl RunningCall {
    /// See [`Rounds::start`].
    fn start<F, Fut>(mut caller: Caller, run: F) -> Self
    where
        F: FnOnce(Caller, CancellationToken) -> Fut,
        Fut: Future<Output = CallToolResponse> + Send + 'static,
    {
        let (asks_tx, asks) = mpsc::unbounded_channel();
        let (progress_tx, progress) = mpsc::unbounded_channel();
        caller.asks = Some(asks_tx);
        caller.progress_stream = Some(progress_tx);
        let ct = CancellationToken::new();
        // Boxed, so that spawning it moves a pointer rather than the call's future.
        let result = tokio::spawn(Box::pin(run(caller, ct.clone())));
        Self {
            result,
            ct,
            asks,
            progress,
            pending: BTreeMap::new(),
            asked: 0,
        }
    }

    /// Keeps `ask` to put to the client; a request no `input_required` result can carry
    /// is refused at once.
    fn add(&mut self, ask: Ask) {
        let Ask { request, answer } = ask;
        let (kind, request) = match request {
            ServerRequest::CreateMessageRequest(r) => ("sampling", InputRequest::CreateMessage(r)),
            ServerRequest::ElicitRequest(r) => ("elicitation", InputRequest::Elicitation(r)),
            ServerRequest::ListRootsRequest(r) => ("roots", InputRequest::ListRoots(r)),
            _ => {
                let refusal = McpError::new(
                    ErrorCode::METHOD_NOT_FOUND,
                    "a 2026-07-28 client can be asked only for sampling, elicitation and roots \
                     during a call",
                    None,
                );
                let _ = answer.send(Err(refusal));
                return;
            }
        };
        self.asked += 1;
        let key = format!("{kind}-{}", self.asked);
        self.pending.insert(key, (request, answer));
    }

    /// Hands the client's answers to the requests they answer; those it left out stay
    /// pending (and are asked again). Keys of no pending request are ignored.
    fn deliver(&mut self, mut responses: InputResponses) -> Result<(), McpError> {
        let mut answers = Vec::new();
        for (key, (request, _)) in &self.pending {
            if let Some(value) = responses.remove(key) {
                answers.push((key.clone(), parse_answer(key, request, value)?));
            }
        }
        for (key, answer) in answers {
            if let Some((_, to)) = self.pending.remove(&key) {
                let _ = to.send(Ok(answer));
            }
        }
        Ok(())
    }
}

/// `value` as the answer to `request`, the one under `key`.
fn parse_answer(key: &str, request: &InputRequest, value: Value) -> Result<ClientResult, McpError> {
    let invalid = |method: &str, e: serde_json::Error| {
        McpError::invalid_params(
            format!("inputResponses[{key:?}] is not an answer to {method}: {e}"),
            None,
        )
    };
    Ok(match request {
        InputRequest::CreateMessage(_) => ClientResult::CreateMessageResult(Box::new(
            serde_json::from_value(value).map_err(|e| invalid("sampling/createMessage", e))?,
        )),
        InputRequest::Elicitation(_) => ClientResult::ElicitResult(
            serde_json::from_value(value).map_err(|e| invalid("elicitation/create", e))?,
        ),
        InputRequest::ListRoots(_) => ClientResult::ListRootsResult(
            serde_json::from_value(value).map_err(|e| invalid("roots/list", e))?,
        ),
        _ => {
            return Err(McpError::internal_error(
                "an input request of an unknown kind",
                None,
            ));
        }
    })
}

/// A tool's error result saying `text`.
fn failed(text: &str) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(text)]).into()
}

/// The bytes of hex digits `text`; `None` when it is not that.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
