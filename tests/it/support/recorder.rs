//! A client handler that records what the server sends on its own.

use std::sync::{Arc, Mutex};

use rmcp::{
    ClientHandler, RoleClient,
    model::{ClientConfig, ProgressNotificationParam, ProtocolVersion},
    service::NotificationContext,
};

/// Records progress messages and log notifications; identifies itself with a chosen
/// protocol version.
#[derive(Clone)]
pub struct Recorder {
    config: ClientConfig,
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    pub logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Recorder {
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            config: mcp_ephemeral_k8s::proxy::client_config().with_protocol_version(version),
            progress: Arc::default(),
            logs: Arc::default(),
        }
    }
}

#[allow(deprecated, reason = "logging is part of the versions under test")]
impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }

    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.logs.lock().unwrap().push(params.data);
    }

    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }
}
