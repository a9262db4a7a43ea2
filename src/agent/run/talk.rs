//! Tools that talk while they work: progress notes, spoken fillers (out-of-band responses that
//! stay out of the conversation) and background results, each said only at a quiet moment.

use super::*;
use crate::protocol::ToolChoice;

/// The `metadata` that marks our fillers, so their responses are told apart from the
/// conversation's (`response.created` echoes it).
const FILLER_METADATA_KEY: &str = "realtime_agent";
const FILLER_METADATA_VALUE: &str = "filler";

/// How long after `speech_stopped` the server's own answer is awaited before the moment
/// counts as quiet anyway (turn detection may decide the audio held no turn).
const SERVER_ANSWER_WAIT: Duration = Duration::from_millis(1500);

impl Loop {
    /// Nobody speaks and nothing is being answered: the user is not talking, no response is
    /// active, requested or wanted, the server is not about to answer, and no audio plays.
    pub(super) fn quiet(&mut self) -> bool {
        if self
            .server_answer_due
            .is_some_and(|due| Instant::now() >= due)
        {
            self.server_answer_due = None;
        }
        !self.user_speaking
            && self.server_answer_due.is_none()
            && !self.gate.busy()
            && !self.gate.is_wanted()
            && !self.gate.held()
            && !self.sink.as_ref().is_some_and(|sink| sink.is_playing())
    }

    /// When the loop must look again by itself: a filler falling due, or the wait for the
    /// server's answer running out.
    pub(super) fn next_wake(&self) -> Option<Instant> {
        let filler = self.calls.next_filler_at(Instant::now());
        match (filler, self.server_answer_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `speech_stopped` with turn detection that answers by itself: wait for that answer.
    pub(super) fn expect_server_answer(&mut self) {
        let answers = self
            .session
            .effective_turn_detection()
            .is_some_and(|t| t.creates_responses());
        if answers {
            self.server_answer_due = Some(Instant::now() + SERVER_ANSWER_WAIT);
        }
    }

    /// Whether `response.created` is for one of our fillers (it echoes their metadata).
    pub(super) fn is_filler(response: &crate::protocol::Response) -> bool {
        response
            .metadata
            .as_ref()
            .and_then(|m| m.get(FILLER_METADATA_KEY))
            .and_then(|v| v.as_str())
            == Some(FILLER_METADATA_VALUE)
    }

    /// A progress note or an early answer from a running call.
    pub(super) async fn on_signal(&mut self, signal: ToolSignal) {
        match signal {
            ToolSignal::Progress {
                call_id,
                message,
                spoken,
            } => {
                let Some(name) = self.calls.name_of(&call_id).map(str::to_owned) else {
                    return;
                };
                if spoken {
                    self.spoken_progress
                        .push_back((call_id.to_string(), message.clone()));
                }
                self.bus.emit(AgentEvent::ToolProgress {
                    call_id: call_id.to_string(),
                    name,
                    message,
                });
            }
            ToolSignal::AnswerNow {
                call_id,
                mut output,
            } => {
                let Some(name) = self.calls.name_of(&call_id).map(str::to_owned) else {
                    return;
                };
                let Some(batch_ready) = self.calls.answered_early(&call_id) else {
                    return;
                };
                cap_output(&mut output);
                let item = Item::function_call_output(call_id.as_ref(), &output);
                self.post(ClientEvent::item_create(item)).await;
                if batch_ready {
                    self.gate.want(Want::ToolOutputs);
                }
                self.bus.emit(AgentEvent::ToolAnsweredEarly {
                    call_id: call_id.to_string(),
                    name,
                    output,
                });
            }
        }
    }

    /// The result of a call that answered early: it enters the conversation, and a response is
    /// asked for, at the next quiet moment.
    pub(super) fn background_result(&mut self, call_id: &str, name: &str, output: &str) {
        self.idle_reported = false;
        self.background_results.push_back(Item::system_text(format!(
            "The tool call {name} ({call_id}) that was working in the background has finished. \
             Its result: {output}"
        )));
    }

    /// Asks for one filler if one is due: spoken progress first, else a call that has run past
    /// its `filler_after`. The caller has checked that the moment is quiet.
    pub(super) async fn say_filler(&mut self) {
        let (call_id, name, instructions) = loop {
            if let Some((call_id, message)) = self.spoken_progress.pop_front() {
                // Progress of a call that has finished is no longer news.
                let Some(name) = self.calls.name_of(&call_id).map(str::to_owned) else {
                    continue;
                };
                let instructions = format!(
                    "The tool {name} is still working on the user's request. Tell the user how \
                     it is going in one short sentence, based on this note: {message}. Do not \
                     make up a result."
                );
                break (call_id, name, instructions);
            }
            let Some(due) = self.calls.filler_due(Instant::now()) else {
                return;
            };
            let instructions = format!(
                "The tool {} is still working on the user's request. Tell the user in one short, \
                 natural sentence that you are on it, e.g. \"One moment, I'm checking.\" Do not \
                 make up a result.",
                due.name
            );
            break (due.call_id, due.name, instructions);
        };
        let options = ResponseOptions {
            instructions: Some(instructions),
            conversation: Some("none".to_owned()),
            metadata: Some(serde_json::json!({
                FILLER_METADATA_KEY: FILLER_METADATA_VALUE,
                "call_id": call_id,
            })),
            tool_choice: Some(ToolChoice::None),
            ..ResponseOptions::default()
        };
        let event = ClientEvent::ResponseCreate(ResponseCreate {
            response: Some(Box::new(options)),
            ..ResponseCreate::default()
        });
        if let Some(event_id) = self.send(event).await {
            self.gate.sent(event_id, Want::Filler);
            self.calls.filler_said(&call_id);
            self.bus.emit(AgentEvent::FillerRequested { call_id, name });
        }
    }
}
