//! The connection layer every listener shares: the accept loop with its back-off after a
//! failed `accept` ([`AcceptBackoff`]) and its cap on open connections ([`Gate`]), and, for
//! HTTPS, the deadlines of a connection's life ([`watch`]), of a request body ([`body`]) and
//! the DPS body for what hyper refuses before any handler runs ([`reply`]).
//!
//! Every limit here is a field of [`crate::config::Limits`]; this module is the one place that
//! enforces the connection ones, for the API, console and MQTT listeners alike.

mod body;
mod reply;
mod watch;

pub(crate) use body::{Guarded, Progress};
pub(crate) use watch::{Tracker, Watched};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch as signal;

/// Connections beyond a listener's cap that are still answered (503 on HTTPS, CONNACK 3 on
/// MQTT) before they close; any more are closed at once, so answering the excess cannot use
/// up the process's descriptors in turn.
pub(crate) const OVER_CAP_ANSWERED: usize = 64;

/// The first pause after a failed `accept`.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause after failed `accept`s in a row.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// How long a failed `accept` waits before the next: 5 ms, doubling to 1 s while `accept`
/// keeps failing (most often: out of file descriptors, which only closing connections cures),
/// back to 5 ms after a success. Without it the loop would retry at once and spin a core.
#[derive(Debug)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self { next: FIRST_PAUSE }
    }
}

impl AcceptBackoff {
    /// An `accept` succeeded: the next failure pauses briefly again.
    pub(crate) fn succeeded(&mut self) {
        self.next = FIRST_PAUSE;
    }

    /// An `accept` failed: the pause to take now (and the next one doubles).
    pub(crate) fn failed(&mut self) -> Duration {
        let pause = self.next;
        self.next = (pause * 2).min(LONGEST_PAUSE);
        pause
    }
}

/// The next connection of `listener`, pausing after each failed `accept` (logged at warn).
pub(crate) async fn accept(
    listener: &TcpListener,
    backoff: &mut AcceptBackoff,
) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => {
                backoff.succeeded();
                return accepted;
            }
            // A peer that gave up before its connection was accepted is its own problem,
            // not the listener's: the next accept follows at once.
            Err(e) if is_peer_error(&e) => {
                tracing::debug!(error = %e, "a connection ended before it was accepted");
            }
            Err(e) => {
                let pause = backoff.failed();
                tracing::warn!(
                    error = %e,
                    retry_in_ms = pause.as_millis() as u64,
                    "cannot accept a connection"
                );
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Whether a failed `accept` concerns only that one connection (reset or aborted by the
/// peer, or interrupted), so the listener itself is fine and needs no back-off.
fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted)
}

/// The count of one listener's open connections (or, for MQTT, of both transports').
#[derive(Debug, Default)]
pub(crate) struct Gate {
    open: Arc<AtomicUsize>,
    over_cap: Arc<AtomicUsize>,
}

/// One counted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a listener does with a new connection.
#[derive(Debug)]
pub(crate) enum Entry {
    /// Served.
    Admitted(Permit),
    /// Over the cap: answered that the server is unavailable, then closed.
    OverCap(Permit),
}

fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<Permit> {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| Permit(count.clone()))
}

impl Gate {
    /// A place for one more connection, unless `max` are open.
    pub(crate) fn open(&self, max: usize) -> Option<Permit> {
        take(&self.open, max)
    }

    /// A place, or one of the [`OVER_CAP_ANSWERED`] places to answer the excess; `None`
    /// when those are taken too.
    pub(crate) fn enter(&self, max: usize) -> Option<Entry> {
        self.open(max)
            .map(Entry::Admitted)
            .or_else(|| take(&self.over_cap, OVER_CAP_ANSWERED).map(Entry::OverCap))
    }
}

/// What happens to open connections once the listener stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Drain {
    /// They are given this long to finish (they see the shutdown signal themselves).
    Wait(Duration),
    /// They are dropped at once.
    Abort,
}

/// Accepts connections on `listener` until `shutdown` turns true, each counted by `gate`
/// against `max` and handed to `serve` on its own task; a connection beyond the cap and its
/// answered excess is closed at once.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    gate: &Gate,
    max: usize,
    mut shutdown: signal::Receiver<bool>,
    drain: Drain,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr, Entry) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut backoff = AcceptBackoff::default();
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            (tcp, peer) = accept(&listener, &mut backoff) => {
                let Some(entry) = gate.enter(max) else {
                    tracing::debug!(%peer, max, "connection closed: the listener is full");
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                conns.spawn(serve(tcp, peer, entry));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    if let Drain::Wait(grace) = drain {
        let _ =
            tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
    }
    conns.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_from_5_ms_to_1_s_and_starts_over_after_a_success() {
        let mut b = AcceptBackoff::default();
        let pauses: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(5));
    }

    #[test]
    fn the_gate_admits_max_then_answers_a_bounded_excess() {
        let gate = Gate::default();
        let first = gate.enter(2);
        let second = gate.enter(2);
        assert!(matches!(first, Some(Entry::Admitted(_))));
        assert!(matches!(second, Some(Entry::Admitted(_))));
        let excess: Vec<_> = (0..OVER_CAP_ANSWERED).map(|_| gate.enter(2)).collect();
        assert!(excess.iter().all(|e| matches!(e, Some(Entry::OverCap(_)))));
        assert!(gate.enter(2).is_none());
        drop(first);
        let again = gate.enter(2);
        assert!(matches!(again, Some(Entry::Admitted(_))));
        assert!(gate.open(2).is_none());
    }
}
