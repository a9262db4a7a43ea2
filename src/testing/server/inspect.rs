//! What a test asks the fake server about: what it saw and sent, its state, and waiting for
//! something to happen.

use std::time::Duration;

use super::{ConnState, FakeServer};
use crate::protocol::{ApiError, Dialect, Item, SessionConfig};
use crate::testing::record::{Handshake, Received, Sent};

impl FakeServer {
    /// Every handshake seen, refused ones included.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.shared.handshakes.lock().unwrap().clone()
    }

    pub(super) fn with_state<T: Default>(
        &self,
        connection: Option<usize>,
        f: impl FnOnce(&ConnState) -> T,
    ) -> T {
        self.slot(connection, |slot| f(&slot.state.lock().unwrap()))
            .unwrap_or_default()
    }

    /// Everything received on all connections, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Received> = conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().received.clone())
            .collect();
        all.sort_by_key(|r| r.at);
        all
    }

    /// What was received (on any connection) at or after `since` on the server's clock
    /// ([`FakeServer::elapsed`]), in order. Cheaper than [`FakeServer::received`] for a long log.
    pub fn received_since(&self, since: Duration) -> Vec<Received> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Received> = conns
            .iter()
            .flat_map(|c| {
                let state = c.state.lock().unwrap();
                let start = state.received.partition_point(|r| r.at < since);
                state.received[start..].to_vec()
            })
            .collect();
        all.sort_by_key(|r| r.at);
        all
    }

    /// What was sent (on any connection) at or after `since`, in order.
    pub fn sent_since(&self, since: Duration) -> Vec<Sent> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Sent> = conns
            .iter()
            .flat_map(|c| {
                let state = c.state.lock().unwrap();
                let start = state.sent.partition_point(|s| s.at < since);
                state.sent[start..].to_vec()
            })
            .collect();
        all.sort_by_key(|s| s.at);
        all
    }

    /// Tool round trips on every connection: from the first `function_call_arguments.done` of a
    /// response to the next `response.create` received.
    pub fn tool_round_trips(&self) -> Vec<Duration> {
        let conns = self.shared.conns.lock().unwrap();
        conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().round_trips.clone())
            .collect()
    }

    /// Function calls sent and `function_call_output` items received, summed over connections.
    pub fn call_counts(&self) -> (usize, usize) {
        let conns = self.shared.conns.lock().unwrap();
        conns.iter().fold((0, 0), |(calls, outputs), c| {
            let state = c.state.lock().unwrap();
            (calls + state.calls_sent, outputs + state.outputs_received)
        })
    }

    /// How many events of `event_type` were received on all connections (cheap: nothing cloned).
    pub fn count_received(&self, event_type: &str) -> usize {
        let conns = self.shared.conns.lock().unwrap();
        conns
            .iter()
            .map(|c| {
                let state = c.state.lock().unwrap();
                state
                    .received
                    .iter()
                    .filter(|r| r.event_type == event_type)
                    .count()
            })
            .sum()
    }

    /// Event types received on the newest connection, in order, without the audio appends.
    pub fn received_types(&self) -> Vec<String> {
        self.with_state(None, |s| {
            s.received
                .iter()
                .filter(|r| r.event_type != "input_audio_buffer.append")
                .map(|r| r.event_type.clone())
                .collect()
        })
    }

    /// Everything sent on all connections, in order.
    pub fn sent(&self) -> Vec<Sent> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Sent> = conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().sent.clone())
            .collect();
        all.sort_by_key(|s| s.at);
        all
    }

    /// The `error` events the server sent (any connection), e.g. to assert there was no
    /// `conversation_already_has_active_response`.
    pub fn errors_sent(&self) -> Vec<ApiError> {
        let conns = self.shared.conns.lock().unwrap();
        conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().errors_sent.clone())
            .collect()
    }

    /// The dialect of the newest connection (beta when the client sent the beta header).
    pub fn dialect(&self) -> Dialect {
        self.with_state(None, |s| s.dialect)
    }

    /// The session configuration in effect on the newest connection.
    pub fn session(&self) -> SessionConfig {
        self.with_state(None, |s| s.session.clone())
    }

    /// The newest connection's conversation, oldest item first.
    pub fn conversation(&self) -> Vec<Item> {
        self.with_state(None, |s| s.conversation.items().to_vec())
    }

    /// Call ids of function calls in the newest conversation that have no output yet.
    pub fn unanswered_calls(&self) -> Vec<String> {
        self.with_state(None, |s| s.conversation.unanswered_calls())
    }

    /// All input audio appended on the newest connection (decoded bytes, session format).
    pub fn input_audio(&self) -> Vec<u8> {
        self.with_state(None, |s| s.input_audio.clone())
    }

    /// The truncations the newest connection accepted, as `(item_id, audio_end_ms)`.
    pub fn truncations(&self) -> Vec<(String, u64)> {
        self.with_state(None, |s| s.truncations.clone())
    }

    /// Bytes of audio sent for each assistant item on the newest connection.
    pub fn audio_bytes_sent(&self, item_id: &str) -> usize {
        self.with_state(None, |s| {
            s.audio_bytes_sent.get(item_id).copied().unwrap_or(0)
        })
    }

    /// How many responses have finished (`response.done` sent) on the newest connection.
    pub fn responses_done(&self) -> usize {
        self.with_state(None, |s| s.responses_done)
    }

    /// Waits until `condition` holds (checked after every event), or panics after `timeout`
    /// with `what` in the message.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut(&FakeServer) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if condition(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                if condition(self) {
                    return;
                }
                panic!(
                    "fake server: timed out after {timeout:?} waiting for {what}; received so far: {:?}",
                    self.received_types()
                );
            }
        }
    }

    /// Waits until `count` events of `event_type` have been received on the newest connection.
    pub async fn wait_for_received(&self, event_type: &str, count: usize, timeout: Duration) {
        let what = format!("{count} × {event_type}");
        self.wait_until(&what, timeout, |s| {
            s.with_state(None, |st| {
                st.received
                    .iter()
                    .filter(|r| r.event_type == event_type)
                    .count()
            }) >= count
        })
        .await;
    }

    /// Waits until `count` connections have been accepted.
    pub async fn wait_for_connections(&self, count: usize, timeout: Duration) {
        self.wait_until(&format!("{count} connections"), timeout, |s| {
            s.connection_count() >= count
        })
        .await;
    }
}
