//! Noticing that a streamable-HTTP server went away while nobody was calling it: its
//! standalone GET stream (where rmcp's client hears notifications) ends, or cannot be opened
//! again. rmcp's client goes on without it, so [`Watch`] raises
//! [`UpstreamEvent::StreamLost`], and the session's owner checks whether the server still
//! answers (a mount reconnects, and sets up its clients' state again, when it does not).

use std::sync::{Arc, OnceLock};

use futures::{StreamExt, stream::BoxStream};
use rmcp::transport::streamable_http_client::StreamableHttpError;
use sse_stream::{Error as SseError, Sse};
use tokio::sync::mpsc::UnboundedSender;

use super::UpstreamEvent;

/// Where a lost stream is reported, once the session's events exist.
#[derive(Clone, Default)]
pub struct Watch(Arc<OnceLock<UnboundedSender<UpstreamEvent>>>);

impl Watch {
    /// Reports to `events` from now on.
    pub fn report_to(&self, events: UnboundedSender<UpstreamEvent>) {
        let _ = self.0.set(events);
    }

    fn raise(&self) {
        if let Some(events) = self.0.get() {
            let _ = events.send(UpstreamEvent::StreamLost);
        }
    }

    /// `opened`, the result of opening a GET stream (`first` when it is the standalone
    /// stream's first opening rather than a resume): a failure to open is reported at once,
    /// and the end of a standalone stream when it comes.
    pub fn watch<E>(
        &self,
        opened: Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<E>>,
        first: bool,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<E>>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        match opened {
            Ok(stream) if first => {
                let watch = self.clone();
                let ended = futures::stream::once(async move {
                    watch.raise();
                    None
                });
                Ok(stream
                    .map(Some)
                    .chain(ended)
                    .filter_map(futures::future::ready)
                    .boxed())
            }
            Ok(stream) => Ok(stream),
            Err(StreamableHttpError::ServerDoesNotSupportSse) => {
                Err(StreamableHttpError::ServerDoesNotSupportSse)
            }
            Err(error) => {
                self.raise();
                Err(error)
            }
        }
    }
}
