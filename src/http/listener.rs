//! The accept loop: HTTP/1.1 connections with a deadline for a request's headers and a cap
//! on open connections, so that clients which open connections and never finish a request
//! (slowloris) are dropped, cannot take every socket, and `/health` keeps answering.

use std::{io, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;

/// How long a client has to send a request's headers (the first, and each next one on a
/// kept-alive connection) unless told otherwise.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections at most, unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// How long to wait before accepting again after the process ran out of file
/// descriptors (or another accept error): the connections it holds must close first.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What one listener allows its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Time to send a request's headers; a connection that takes longer is closed.
    pub header_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `ct` is cancelled, then stops
/// accepting and lets open connections finish.
///
/// # Errors
/// None today: accept errors (out of descriptors) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    ct: CancellationToken,
    limits: ListenerLimits,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let accepted = tokio::select! {
            () = ct.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, _) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(cause = %e, "cannot accept a connection; retrying");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "too many open connections; closing a new one"
            );
            continue;
        };
        // Small JSON-RPC messages must not wait for Nagle's algorithm.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(cause = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(router.clone());
        let connection = http.serve_connection(TokioIo::new(tcp), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// Raises this process's soft limit on open files to its hard limit, so that the
/// connection cap, not the descriptor limit, is what a flood meets. Returns the limit now
/// in force.
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}
