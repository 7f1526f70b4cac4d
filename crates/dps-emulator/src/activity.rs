//! The device activity log: the latest device attempts the registration engine judged (when,
//! over which transport, which registration id, and what came of it: the hub, or the exact
//! reason of a refusal), for the console's Device activity page.
//!
//! The engine writes it, in the two places where it decides: a refusal where it logs one
//! ([`crate::engine`]'s `refused`), an outcome where `Engine::register` finishes. Transports
//! only say which transport they are. The log is bounded twice: the last [`CAPACITY`] attempts
//! are kept, and live subscribers (at most [`MAX_SUBSCRIBERS`]) share one broadcast queue of
//! [`LIVE_QUEUE`] entries; one that falls behind skips ahead rather than holding memory.
//!
//! Nothing secret is kept: a refusal's reason is the engine's typed refusal text, which names
//! ids, certificates and times but never a key, a signature or a token, and a failed
//! allocation's message has the query of every URL it quotes cut off (a webhook URL's query can
//! hold a function key).

use dps_protocol::codes::ErrorCode;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

/// Attempts kept.
pub(crate) const CAPACITY: usize = 500;
/// Live subscribers (open activity pages) at most.
pub(crate) const MAX_SUBSCRIBERS: usize = 64;
/// Entries queued for live subscribers; one further behind skips ahead.
const LIVE_QUEUE: usize = 128;

/// How a device reached the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// The HTTPS device API.
    Https,
    /// MQTT directly on TLS.
    Mqtt,
    /// MQTT in WebSocket messages on the HTTPS listener.
    MqttWebSocket,
}

impl Transport {
    /// The transport's name as people read it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::Https => "HTTPS",
            Transport::Mqtt => "MQTT",
            Transport::MqttWebSocket => "MQTT over WebSocket",
        }
    }
}

/// What came of a device attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Registered and assigned to `hub`.
    Assigned {
        /// The assigned IoT hub.
        hub: String,
    },
    /// Authenticated, but its enrollment (or group) is disabled.
    Disabled {
        /// The DPS error code the device was given.
        code: ErrorCode,
        /// Which enrollment is disabled.
        message: String,
    },
    /// Authenticated, but no hub was assigned (an allocation or emulator failure).
    Failed {
        /// The DPS error code.
        code: ErrorCode,
        /// Why, with URL queries cut off.
        message: String,
    },
    /// Not authenticated.
    Refused {
        /// The DPS error code the device was given.
        code: ErrorCode,
        /// The engine's reason: which certificate or key, which rule.
        reason: String,
    },
}

impl Outcome {
    /// A failed registration with `message`, the query of every URL in it cut off.
    pub(crate) fn failed(code: ErrorCode, message: &str) -> Self {
        Outcome::Failed {
            code,
            message: without_url_queries(message),
        }
    }

    /// `Assigned`, `Disabled`, `Failed` or `Refused`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Assigned { .. } => "Assigned",
            Outcome::Disabled { .. } => "Disabled",
            Outcome::Failed { .. } => "Failed",
            Outcome::Refused { .. } => "Refused",
        }
    }

    /// Whether the device got a hub.
    pub(crate) fn ok(&self) -> bool {
        matches!(self, Outcome::Assigned { .. })
    }

    /// The DPS error code the device was given, unless it was assigned.
    pub(crate) fn code(&self) -> Option<ErrorCode> {
        match self {
            Outcome::Assigned { .. } => None,
            Outcome::Disabled { code, .. }
            | Outcome::Failed { code, .. }
            | Outcome::Refused { code, .. } => Some(*code),
        }
    }

    /// The hub, or the reason.
    pub(crate) fn detail(&self) -> &str {
        match self {
            Outcome::Assigned { hub } => hub,
            Outcome::Disabled { message, .. } | Outcome::Failed { message, .. } => message,
            Outcome::Refused { reason, .. } => reason,
        }
    }
}

/// One device attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its place in the log, from 1, increasing: the live feed's event id.
    pub(crate) seq: u64,
    /// When, by the emulator's clock.
    pub(crate) time: OffsetDateTime,
    /// How the device reached the engine.
    pub(crate) transport: Transport,
    /// The registration id, as the device spelled it.
    pub(crate) registration_id: String,
    /// What came of it.
    pub(crate) outcome: Outcome,
}

/// The kept attempts and the next sequence number.
#[derive(Debug)]
struct Ring {
    entries: VecDeque<Arc<Entry>>,
    next_seq: u64,
}

/// The log: the latest attempts, and a broadcast of each new one to live subscribers.
pub(crate) struct Activity {
    ring: Mutex<Ring>,
    capacity: usize,
    live: broadcast::Sender<Arc<Entry>>,
    subscribers: Arc<AtomicUsize>,
    /// The emulator's shutdown signal: every feed ends when it turns true.
    stopped: OnceLock<watch::Receiver<bool>>,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("len", &self.lock().entries.len())
            .field("capacity", &self.capacity)
            .field("subscribers", &self.subscribers.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Activity {
    /// A log keeping the last `capacity` attempts.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let (live, _) = broadcast::channel(LIVE_QUEUE);
        Self {
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity),
                next_seq: 1,
            }),
            capacity,
            live,
            subscribers: Arc::new(AtomicUsize::new(0)),
            stopped: OnceLock::new(),
        }
    }

    /// Ends every live feed when `stopped` turns true (the emulator's shutdown): an open
    /// activity page must not hold the console's listener open while it stops.
    pub(crate) fn end_feeds_on(&self, stopped: watch::Receiver<bool>) {
        let _ = self.stopped.set(stopped);
    }

    /// The ring; a panic elsewhere while it was held leaves it consistent (every change is
    /// one push and one pop), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an attempt; the oldest is dropped beyond the capacity. Returns its entry.
    pub(crate) fn record(
        &self,
        time: OffsetDateTime,
        transport: Transport,
        registration_id: &str,
        outcome: Outcome,
    ) -> Arc<Entry> {
        let mut ring = self.lock();
        let entry = Arc::new(Entry {
            seq: ring.next_seq,
            time,
            transport,
            registration_id: registration_id.to_owned(),
            outcome,
        });
        ring.next_seq += 1;
        if ring.entries.len() >= self.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry.clone());
        // Sent under the lock, so a subscriber's backlog and its live entries neither overlap
        // nor leave a gap. No subscriber is no error.
        let _ = self.live.send(entry.clone());
        entry
    }

    /// The kept attempts, newest first.
    pub(crate) fn latest(&self) -> Vec<Arc<Entry>> {
        self.lock().entries.iter().rev().cloned().collect()
    }

    /// How many attempts are kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// A live feed: the kept attempts after `after` (a subscriber resuming; a number beyond
    /// the newest, from before a restart, means all of them), then each new one. `None` when
    /// [`MAX_SUBSCRIBERS`] feeds are open.
    pub(crate) fn subscribe(&self, after: Option<u64>) -> Option<Feed> {
        let slot = Slot::take(&self.subscribers)?;
        let ring = self.lock();
        let newest = ring.next_seq - 1;
        let after = match after {
            Some(a) if a <= newest => a,
            Some(_) => 0,
            None => newest,
        };
        let backlog = ring
            .entries
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect();
        let live = self.live.subscribe();
        drop(ring);
        Some(Feed {
            backlog,
            live,
            last: after,
            stopped: self.stopped.get().cloned(),
            _slot: slot,
        })
    }
}

/// One open live feed's place among [`MAX_SUBSCRIBERS`]; dropping it frees the place.
#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(count: &Arc<AtomicUsize>) -> Option<Self> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SUBSCRIBERS).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(count.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a live feed delivers next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// An attempt.
    Entry(Arc<Entry>),
    /// The subscriber fell this many attempts behind; they were skipped.
    Skipped(u64),
}

/// A live subscriber: the backlog it asked for, then each new attempt, each once.
#[derive(Debug)]
pub(crate) struct Feed {
    backlog: VecDeque<Arc<Entry>>,
    live: broadcast::Receiver<Arc<Entry>>,
    last: u64,
    stopped: Option<watch::Receiver<bool>>,
    _slot: Slot,
}

impl Feed {
    /// The next attempt; `None` once the emulator stops (or the log is gone).
    pub(crate) async fn next(&mut self) -> Option<Next> {
        let Feed {
            backlog,
            live,
            last,
            stopped,
            ..
        } = self;
        let stopping = async {
            match stopped {
                // A dropped sender means the emulator is gone: stopped too.
                Some(s) => drop(s.wait_for(|stop| *stop).await),
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stopping);
        if let Some(entry) = backlog.pop_front() {
            *last = entry.seq;
            return Some(Next::Entry(entry));
        }
        loop {
            let received = tokio::select! {
                biased;
                () = &mut stopping => return None,
                received = live.recv() => received,
            };
            match received {
                Ok(entry) if entry.seq <= *last => {}
                Ok(entry) => {
                    *last = entry.seq;
                    return Some(Next::Entry(entry));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => return Some(Next::Skipped(n)),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// `text` with the query (and fragment) of every `http://` or `https://` URL in it replaced
/// by `?…`: a webhook URL's query can hold its function key.
pub(crate) fn without_url_queries(text: &str) -> String {
    let ends_url = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ',');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let (before, url_on) = rest.split_at(at);
        out.push_str(before);
        let mut url_len = url_on.find(ends_url).unwrap_or(url_on.len());
        // Punctuation ending a sentence or a clause is not the URL's.
        while url_len > 0 && url_on[..url_len].ends_with([':', '.', ';']) {
            url_len -= 1;
        }
        let (url, after) = url_on.split_at(url_len);
        match url.find(['?', '#']) {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_protocol::codes;

    fn assigned(a: &Activity, id: &str) -> Arc<Entry> {
        a.record(
            OffsetDateTime::UNIX_EPOCH,
            Transport::Https,
            id,
            Outcome::Assigned { hub: "hub".into() },
        )
    }

    #[test]
    fn keeps_the_latest_capacity_attempts_and_drops_the_oldest() {
        let a = Activity::default();
        for i in 0..CAPACITY + 10 {
            assigned(&a, &format!("dev-{i}"));
        }
        assert_eq!(a.len(), CAPACITY);
        let latest = a.latest();
        assert_eq!(latest.len(), CAPACITY);
        assert_eq!(latest[0].registration_id, format!("dev-{}", CAPACITY + 9));
        assert_eq!(latest[0].seq, (CAPACITY + 10) as u64);
        let oldest = latest.last().map(|e| e.registration_id.clone());
        assert_eq!(oldest.as_deref(), Some("dev-10"));
    }

    #[tokio::test]
    async fn a_feed_resumes_after_its_last_id_then_goes_live_without_repeats() {
        let a = Activity::with_capacity(10);
        for i in 1..=4 {
            assigned(&a, &format!("dev-{i}"));
        }
        let mut feed = a.subscribe(Some(2)).expect("a place");
        assigned(&a, "dev-5");
        let mut seen = Vec::new();
        for _ in 0..3 {
            match feed.next().await {
                Some(Next::Entry(e)) => seen.push(e.seq),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, [3, 4, 5]);
        // A fresh feed starts live; an id from before a restart replays what is kept.
        let mut fresh = a.subscribe(None).expect("a place");
        assigned(&a, "dev-6");
        assert!(matches!(fresh.next().await, Some(Next::Entry(e)) if e.seq == 6));
        let mut stale = a.subscribe(Some(900)).expect("a place");
        assert!(matches!(stale.next().await, Some(Next::Entry(e)) if e.seq == 1));
    }

    #[tokio::test]
    async fn a_lagging_feed_skips_ahead() {
        let a = Activity::with_capacity(10);
        let mut feed = a.subscribe(None).expect("a place");
        for i in 0..LIVE_QUEUE + 5 {
            assigned(&a, &format!("dev-{i}"));
        }
        assert_eq!(feed.next().await, Some(Next::Skipped(5)));
        assert!(matches!(feed.next().await, Some(Next::Entry(e)) if e.seq == 6));
    }

    #[test]
    fn live_feeds_are_bounded_and_a_closed_one_frees_its_place() {
        let a = Activity::with_capacity(1);
        let feeds: Vec<Feed> = (0..MAX_SUBSCRIBERS)
            .map(|_| a.subscribe(None).expect("a place"))
            .collect();
        assert!(a.subscribe(None).is_none());
        drop(feeds);
        assert!(a.subscribe(None).is_some());
    }

    #[tokio::test]
    async fn feeds_end_when_the_emulator_stops() {
        let a = Activity::with_capacity(10);
        let (stop, stopped) = watch::channel(false);
        a.end_feeds_on(stopped);
        let mut feed = a.subscribe(None).expect("a place");
        let waiting = tokio::spawn(async move { feed.next().await });
        let _ = stop.send(true);
        let ended = tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await;
        assert!(matches!(ended, Ok(Ok(None))), "{ended:?}");
    }

    #[test]
    fn failed_messages_lose_url_queries() {
        let o = Outcome::failed(
            codes::BAD_REQUEST,
            "custom allocation webhook https://f.example/api/a?code=SECRET==: error sending \
             request for url (https://f.example/api/a?code=SECRET==)",
        );
        assert_eq!(
            o.detail(),
            "custom allocation webhook https://f.example/api/a?…: error sending request for url \
             (https://f.example/api/a?…)"
        );
        assert_eq!(
            without_url_queries("see http://h/x#k and done"),
            "see http://h/x?… and done"
        );
        assert_eq!(without_url_queries("no url here"), "no url here");
    }
}
