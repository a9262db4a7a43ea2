//! The one place that decides when `response.create` is sent.
//!
//! The API allows one response at a time in the default conversation: a `response.create` while
//! one is active is answered with `conversation_already_has_active_response`. With turn detection
//! on, the server can also start a response between our last tool output and our
//! `response.create`. The gate sends a wanted response only when none is active and no earlier
//! request of ours is unanswered, never twice for one want, and asks again when the server
//! refused because a response was active (the protocol's advice), unless the user took the turn.

/// Why a response is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Every output of a batch of tool calls is posted and its response is done.
    ToolOutputs,
    /// The user sent a message or ended a manual turn.
    UserTurn,
    /// The application asked for one.
    Requested,
    /// A background call's result entered the conversation.
    Background,
    /// A spoken filler while a tool works (out of band: never wanted through the gate, only
    /// recorded as in flight so that nothing else starts over it).
    Filler,
}

#[derive(Debug)]
struct InFlight {
    event_id: String,
    want: Want,
    /// A `response.created` arrived after it was sent: it was (most likely) honoured.
    created_seen: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ResponseGate {
    /// Rate limited: no request before this instant.
    held_until: Option<std::time::Instant>,
    active: Option<String>,
    in_flight: Vec<InFlight>,
    wanted: Option<Want>,
}

impl ResponseGate {
    /// Asks for a response as soon as one may be sent.
    pub(crate) fn want(&mut self, want: Want) {
        // A user turn outranks the others for the record; any want is satisfied by one response.
        if self.wanted != Some(Want::UserTurn) {
            self.wanted = Some(want);
        }
    }

    /// Drops a wanted response that has not been sent (the user took the turn).
    pub(crate) fn forget(&mut self) {
        self.wanted = None;
    }

    /// Holds requests until `until` (a rate limit is exhausted until it resets).
    pub(crate) fn hold_until(&mut self, until: std::time::Instant) {
        if self.held_until.is_none_or(|current| current < until) {
            self.held_until = Some(until);
        }
    }

    /// Whether requests are held back by a rate limit right now.
    pub(crate) fn held(&mut self) -> bool {
        match self.held_until {
            Some(until) if std::time::Instant::now() < until => true,
            Some(_) => {
                self.held_until = None;
                false
            }
            None => false,
        }
    }

    /// Whether a response is wanted but not yet sent.
    pub(crate) fn is_wanted(&self) -> bool {
        self.wanted.is_some()
    }

    /// Whether a response is in progress or requested and not yet answered.
    pub(crate) fn busy(&self) -> bool {
        self.active.is_some() || self.in_flight.iter().any(|f| !f.created_seen)
    }

    /// The response in progress, if any.
    pub(crate) fn active(&self) -> Option<&str> {
        self.active.as_deref()
    }

    /// If a response is wanted and may be sent now, takes the want: the caller sends
    /// `response.create` and reports its event id with [`ResponseGate::sent`].
    pub(crate) fn ready(&mut self) -> Option<Want> {
        if self.busy() || self.held() {
            return None;
        }
        self.wanted.take()
    }

    /// A `response.create` for `want` went out with `event_id`.
    pub(crate) fn sent(&mut self, event_id: String, want: Want) {
        self.in_flight.push(InFlight {
            event_id,
            want,
            created_seen: false,
        });
    }

    /// `response.created`.
    pub(crate) fn on_created(&mut self, response_id: &str) {
        self.active = Some(response_id.to_owned());
        for flight in &mut self.in_flight {
            flight.created_seen = true;
        }
    }

    /// `response.done`.
    pub(crate) fn on_done(&mut self, response_id: &str) {
        if self.active.as_deref() == Some(response_id) {
            self.active = None;
        }
        self.in_flight.retain(|f| !f.created_seen);
    }

    /// An `error` event: if it answers one of our requests, that request is settled; refused
    /// because a response was active, it is wanted again (sent after that response is done).
    /// Returns whether the error answered one of our `response.create`s.
    pub(crate) fn on_error(&mut self, event_id: Option<&str>, code: Option<&str>) -> bool {
        let Some(event_id) = event_id else {
            return false;
        };
        let Some(index) = self.in_flight.iter().position(|f| f.event_id == event_id) else {
            return false;
        };
        let flight = self.in_flight.remove(index);
        // A filler that could not start is not worth saying later.
        if code == Some("conversation_already_has_active_response") && flight.want != Want::Filler {
            self.want(flight.want);
        }
        true
    }

    /// The connection was replaced: nothing is active on the new one.
    pub(crate) fn reset(&mut self) {
        self.active = None;
        self.in_flight.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_while_active_and_once_per_want() {
        let mut gate = ResponseGate::default();
        gate.on_created("resp_1");
        gate.want(Want::ToolOutputs);
        assert_eq!(gate.ready(), None, "a response is active");
        gate.on_done("resp_1");
        assert_eq!(gate.ready(), Some(Want::ToolOutputs));
        gate.sent("evt_1".into(), Want::ToolOutputs);
        gate.want(Want::UserTurn);
        assert_eq!(gate.ready(), None, "our request is unanswered");
        gate.on_created("resp_2");
        assert_eq!(gate.ready(), None);
        gate.on_done("resp_2");
        assert_eq!(gate.ready(), Some(Want::UserTurn));
        assert_eq!(gate.ready(), None, "a want is taken once");
    }

    #[test]
    fn refused_for_an_active_response_is_retried_after_it() {
        let mut gate = ResponseGate::default();
        gate.want(Want::ToolOutputs);
        assert_eq!(gate.ready(), Some(Want::ToolOutputs));
        gate.sent("evt_7".into(), Want::ToolOutputs);
        // The server started a response of its own before ours arrived.
        gate.on_created("resp_vad");
        assert!(gate.on_error(
            Some("evt_7"),
            Some("conversation_already_has_active_response")
        ));
        assert_eq!(gate.ready(), None, "still active");
        gate.on_done("resp_vad");
        assert_eq!(gate.ready(), Some(Want::ToolOutputs));
    }

    #[test]
    fn a_rate_limit_holds_requests_until_it_resets() {
        let mut gate = ResponseGate::default();
        gate.hold_until(std::time::Instant::now() + std::time::Duration::from_millis(30));
        gate.want(Want::UserTurn);
        assert_eq!(gate.ready(), None);
        std::thread::sleep(std::time::Duration::from_millis(40));
        assert_eq!(gate.ready(), Some(Want::UserTurn));
    }

    #[test]
    fn other_errors_settle_the_request() {
        let mut gate = ResponseGate::default();
        gate.want(Want::Requested);
        gate.ready();
        gate.sent("evt_1".into(), Want::Requested);
        assert!(gate.busy());
        assert!(gate.on_error(Some("evt_1"), Some("invalid_value")));
        assert!(!gate.busy());
        assert_eq!(gate.ready(), None);
        assert!(!gate.on_error(Some("evt_other"), None));
    }
}
