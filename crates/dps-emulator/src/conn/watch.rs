//! The life of one HTTPS connection between hyper and TLS: [`Watched`] wraps the TLS stream
//! hyper reads and writes, and with the [`Tracker`] the server's service updates, knows
//! whether a request is in progress, and enforces:
//!
//! - the first request's head must be complete within the header timeout of the handshake;
//!   a connection that sent nothing by then is closed, one with a partial head is answered
//!   408 with the DPS body;
//! - on HTTP/1, a later request's head must be complete within the header timeout of its
//!   first byte (408 as above);
//! - with no request in progress, the connection is shut down (HTTP/2: GOAWAY) after the
//!   idle timeout; a response still streaming counts as in progress, and an upgraded
//!   connection (MQTT over WebSocket) is left to its own protocol's rules;
//! - a write the peer does not take for the progress timeout fails the connection;
//! - on HTTP/1, when no request is in progress the only thing hyper writes is its own bare
//!   refusal of a request head it could not parse (400, 414, 431 with no body): that head is
//!   replaced with the same status carrying the DPS error body ([`super::reply`]).

use super::reply::{self, HeadLimits};
use futures_util::task::AtomicWaker;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// What the service tells the connection: requests in progress, an upgrade; and what the
/// connection tells its task: it has been idle too long.
#[derive(Debug)]
pub(crate) struct Tracker {
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// A response just ended; on HTTP/1 its last bytes may still be in hyper's buffer.
    draining: AtomicBool,
    upgraded: AtomicBool,
    idle_since: Mutex<Instant>,
    reader: AtomicWaker,
    expired: Notify,
    /// Close as soon as no request is in progress (a connection over the cap).
    close_when_idle: bool,
}

/// One request in progress; dropping it (with the response body) ends it.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Tracker>);

impl Tracker {
    /// A tracker for a new connection.
    pub(crate) fn new(close_when_idle: bool) -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
            reader: AtomicWaker::new(),
            expired: Notify::new(),
            close_when_idle,
        })
    }

    /// A request reached the service.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// The service answered 101: the connection now belongs to another protocol.
    pub(crate) fn upgraded(&self) {
        self.upgraded.store(true, Ordering::Release);
    }

    /// Resolves when the connection has been idle (or waiting for its first request) too
    /// long: the server then shuts it down gracefully.
    pub(crate) async fn expired(&self) {
        self.expired.notified().await;
    }

    fn idle_since(&self) -> Instant {
        *self
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_idle_since(&self, at: Instant) {
        *self
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let t = &self.0;
        // Before the count drops: a reader on another thread that sees no request in flight
        // must never see an older idle time (it would close the connection at once).
        t.set_idle_since(Instant::now());
        if t.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            t.draining.store(true, Ordering::Release);
        }
        // The reader re-arms its deadline for the idle connection.
        t.reader.wake();
    }
}

/// The deadlines [`Watched`] enforces, and the limits its refusals name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// [`crate::config::Limits::http_header_timeout`].
    pub(crate) header: Duration,
    /// [`crate::config::Limits::http_idle_timeout`].
    pub(crate) idle: Duration,
    /// [`crate::config::Limits::progress_timeout`].
    pub(crate) progress: Duration,
    /// The limits a replaced refusal names.
    pub(crate) head: HeadLimits,
}

impl From<&crate::config::Limits> for Settings {
    fn from(l: &crate::config::Limits) -> Self {
        Self {
            header: l.http_header_timeout,
            idle: l.http_idle_timeout,
            progress: l.progress_timeout,
            head: HeadLimits {
                max_uri_bytes: l.max_uri_bytes,
                max_header_bytes: l.max_header_bytes,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not known yet: HTTP/1 unless the first bytes are the HTTP/2 preface.
    Sniffing,
    Http1,
    Http2,
}

/// What an expired read deadline does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// Part of a request head arrived, not all: answer 408 and close.
    Head,
    /// Nothing is in progress: ask the task to shut the connection down.
    Idle,
}

/// Bytes the wrapper writes itself, then what it does after.
#[derive(Debug)]
struct Own {
    bytes: Vec<u8>,
    written: usize,
    /// After the bytes: shut the stream and report its end to hyper (a 408).
    then_close: bool,
}

/// The connection's stream as hyper sees it; see the module documentation.
pub(crate) struct Watched<S> {
    inner: S,
    tracker: Arc<Tracker>,
    settings: Settings,
    mode: Mode,
    sniffed: Vec<u8>,
    started: Instant,
    /// On HTTP/1: when the first byte of the current request head arrived, and the request
    /// count then (a head belongs to the request after the last one served).
    head_started: Option<(Instant, u64)>,
    read_timer: Pin<Box<Sleep>>,
    read_deadline: Option<Instant>,
    expired_told: bool,
    write_timer: Pin<Box<Sleep>>,
    stalled_since: Option<Instant>,
    /// hyper's bare refusal, collected until its head ends.
    held: Vec<u8>,
    own: Option<Own>,
    closed: bool,
}

impl<S> Watched<S> {
    /// Wraps a stream whose TLS handshake just ended; `http2` when ALPN chose `h2`.
    pub(crate) fn new(inner: S, tracker: Arc<Tracker>, settings: Settings, http2: bool) -> Self {
        let now = Instant::now();
        Self {
            inner,
            tracker,
            settings,
            mode: if http2 { Mode::Http2 } else { Mode::Sniffing },
            sniffed: Vec::new(),
            started: now,
            head_started: None,
            read_timer: Box::pin(tokio::time::sleep_until(now)),
            read_deadline: None,
            expired_told: false,
            write_timer: Box::pin(tokio::time::sleep_until(now)),
            stalled_since: None,
            held: Vec::new(),
            own: None,
            closed: false,
        }
    }

    /// The read deadline now, and what its expiry does; `None` while a request is in
    /// progress or after an upgrade.
    fn read_deadline(&self) -> Option<(Instant, Expiry)> {
        let t = &self.tracker;
        if t.upgraded.load(Ordering::Acquire) || t.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let http2 = self.mode == Mode::Http2;
        if !http2 && t.draining.load(Ordering::Acquire) {
            return None;
        }
        let requests = t.requests.load(Ordering::Acquire);
        let head = match self.head_started {
            Some((at, n)) if n == requests && !http2 => Some(at),
            _ => None,
        };
        if requests == 0 {
            let expiry = if head.is_some() {
                Expiry::Head
            } else {
                Expiry::Idle
            };
            return Some((self.started + self.settings.header, expiry));
        }
        if let Some(at) = head {
            return Some((at + self.settings.header, Expiry::Head));
        }
        let idle = if t.close_when_idle {
            Duration::ZERO
        } else {
            self.settings.idle
        };
        Some((t.idle_since() + idle, Expiry::Idle))
    }

    /// Notes bytes hyper read: they settle the protocol, and on HTTP/1 start a head.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.mode == Mode::Sniffing {
            let take = (H2_PREFACE.len() - self.sniffed.len()).min(bytes.len());
            self.sniffed.extend_from_slice(&bytes[..take]);
            if !H2_PREFACE.starts_with(&self.sniffed) {
                self.mode = Mode::Http1;
            } else if self.sniffed.len() == H2_PREFACE.len() {
                self.mode = Mode::Http2;
            }
        }
        let t = &self.tracker;
        if self.mode != Mode::Http2
            && t.in_flight.load(Ordering::Acquire) == 0
            && !t.draining.load(Ordering::Acquire)
        {
            let requests = t.requests.load(Ordering::Acquire);
            if !matches!(self.head_started, Some((_, n)) if n == requests) {
                self.head_started = Some((Instant::now(), requests));
            }
        }
    }

    /// Whether a write now is hyper's own refusal (see the module documentation).
    fn intercepts(&self, buf: &[u8]) -> bool {
        let t = &self.tracker;
        !self.held.is_empty()
            || (self.mode == Mode::Http1
                && !t.upgraded.load(Ordering::Acquire)
                && t.in_flight.load(Ordering::Acquire) == 0
                && !t.draining.load(Ordering::Acquire)
                && reply::is_status_line(buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Watched<S> {
    /// Writes the wrapper's own bytes, if any; `Ready(Ok)` once none are left.
    fn poll_own(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(own) = &mut self.own {
            if own.written < own.bytes.len() {
                let n = match Pin::new(&mut self.inner).poll_write(cx, &own.bytes[own.written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return self.stalled(cx),
                };
                self.stalled_since = None;
                own.written += n;
                continue;
            }
            let close = own.then_close;
            if close {
                match Pin::new(&mut self.inner).poll_flush(cx) {
                    Poll::Ready(_) => {}
                    Poll::Pending => return self.stalled(cx),
                }
                match Pin::new(&mut self.inner).poll_shutdown(cx) {
                    Poll::Ready(_) => {}
                    Poll::Pending => return self.stalled(cx),
                }
                self.closed = true;
            }
            self.own = None;
        }
        Poll::Ready(Ok(()))
    }

    /// A write is pending: fails it once the peer has taken nothing for the progress timeout.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let since = *self.stalled_since.get_or_insert_with(Instant::now);
        let deadline = since + self.settings.progress;
        if self.write_timer.deadline() != deadline {
            self.write_timer.as_mut().reset(deadline);
        }
        if self.write_timer.as_mut().poll(cx).is_ready() {
            tracing::debug!(
                timeout = ?self.settings.progress,
                "HTTPS connection closed: the client took no byte of the response"
            );
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no byte of the response in time",
            )));
        }
        Poll::Pending
    }

    /// Checks the read deadline; `Ready` once the connection is to end (a 408 was sent).
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some((deadline, expiry)) = self.read_deadline() else {
            self.read_deadline = None;
            return Poll::Pending;
        };
        if self.read_deadline != Some(deadline) {
            self.read_deadline = Some(deadline);
            self.expired_told = false;
            self.read_timer.as_mut().reset(deadline);
        }
        if self.read_timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        match expiry {
            Expiry::Head if self.mode != Mode::Http2 => {
                tracing::debug!(
                    timeout = ?self.settings.header,
                    "HTTPS request head incomplete in time: answered 408"
                );
                self.own = Some(Own {
                    bytes: reply::head_timeout(self.settings.header),
                    written: 0,
                    then_close: true,
                });
                Poll::Ready(())
            }
            _ => {
                if !self.expired_told {
                    self.expired_told = true;
                    tracing::debug!("HTTPS connection idle: shutting it down");
                    self.tracker.expired.notify_one();
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closed {
            return Poll::Ready(Ok(()));
        }
        if !this.tracker.upgraded.load(Ordering::Acquire) {
            this.tracker.reader.register(cx.waker());
            // An expired head deadline queues a 408 that ends the connection.
            let closing = match &this.own {
                Some(own) => own.then_close,
                None => this.poll_deadline(cx).is_ready(),
            };
            if closing {
                return match this.poll_own(cx) {
                    Poll::Ready(_) => {
                        this.closed = true;
                        Poll::Ready(Ok(()))
                    }
                    Poll::Pending => Poll::Pending,
                };
            }
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.saw(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.closed {
            return Poll::Ready(Ok(buf.len()));
        }
        if this.own.is_some() {
            match this.poll_own(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if this.intercepts(buf) {
            this.held.extend_from_slice(buf);
            if this.held.windows(4).any(|w| w == b"\r\n\r\n") {
                let bytes = reply::instead_of(&this.held, this.settings.head);
                tracing::debug!(
                    head = %String::from_utf8_lossy(this.held.get(..12).unwrap_or_default()),
                    "hyper refused a request head; answered with the DPS body"
                );
                this.held.clear();
                this.own = Some(Own {
                    bytes,
                    written: 0,
                    then_close: false,
                });
            }
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.stalled(cx),
            ready => {
                this.stalled_since = None;
                ready
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closed {
            return Poll::Ready(Ok(()));
        }
        match this.poll_own(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.stalled(cx),
            Poll::Ready(Ok(())) => {
                this.stalled_since = None;
                if this.tracker.draining.swap(false, Ordering::AcqRel) {
                    // The response's last bytes are out: the idle time starts now, and the
                    // reader re-arms its deadline.
                    this.tracker.set_idle_since(Instant::now());
                    this.tracker.reader.wake();
                }
                Poll::Ready(Ok(()))
            }
            err => err,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closed {
            return Poll::Ready(Ok(()));
        }
        match this.poll_own(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.stalled(cx),
            ready => ready,
        }
    }
}
