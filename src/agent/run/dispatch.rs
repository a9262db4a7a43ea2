//! Reacting to what happens: server events, finished tools, commands from the handle,
//! barge-in.

use super::hosted;
use super::*;
use crate::agent::{ToolTiming, TurnTrigger};

impl Loop {
    pub(super) async fn on_finished(&mut self, mut finished: Finished) {
        cap_output(&mut finished.output);
        if finished.status == crate::agent::ToolStatus::Ok && !self.ending {
            self.maybe_hand_off(&finished.call_id).await;
        }
        if self.calls.is_background(&finished.call_id) {
            let name = self
                .calls
                .name_of(&finished.call_id)
                .unwrap_or_default()
                .to_owned();
            self.background_result(&finished.call_id, &name, &finished.output);
        } else {
            let output = Item::function_call_output(&finished.call_id, &finished.output);
            self.post(ClientEvent::item_create(output)).await;
        }
        if let Some(posted) = self.calls.posted(&finished) {
            self.tool_calls += 1;
            if let AgentEvent::ToolFinished {
                call_id,
                name,
                status,
                duration,
                ..
            } = &posted.event
            {
                if let Some(span) = self.tool_spans.remove(call_id) {
                    span.record("status", tracing::field::debug(status));
                    span.record("duration_ms", duration.as_secs_f64() * 1000.0);
                }
                if self.turns.is_open() {
                    self.turns.tool(ToolTiming {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        duration: *duration,
                        status: *status,
                    });
                }
            }
            if posted.batch_ready {
                self.gate.want(Want::ToolOutputs);
            }
            self.bus.emit(posted.event);
        }
    }

    pub(super) fn start_call(
        &mut self,
        response_id: &str,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) {
        let events = self.calls.start(response_id, call_id, name, arguments);
        if !events.is_empty() {
            let span = tracing::info_span!(
                parent: self.turns.span(),
                "tool_call",
                tool = name,
                call_id,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            self.tool_spans.insert(call_id.to_owned(), span);
            self.idle_reported = false;
            self.history.function_call(call_id, name, arguments);
        }
        for event in events {
            self.bus.emit(event);
        }
    }

    pub(super) async fn on_event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::SessionCreated(e) => {
                if let Some(id) = e.session.id() {
                    self.calls.set_session_id(id);
                }
            }
            ServerEvent::SessionUpdated(e) if !self.ready => {
                self.ready = true;
                self.bus.emit(AgentEvent::Ready {
                    session_id: e.session.id().map(str::to_owned),
                });
            }
            ServerEvent::Error(e) => {
                let code = e.error.code.as_ref();
                let ours = self.gate.on_error(e.error.event_id.as_deref(), code);
                // A refused `response.create` of ours is asked again by the gate.
                let benign = code.is_some_and(ApiErrorCode::is_benign_race)
                    || (ours && code == Some(&ApiErrorCode::ConversationAlreadyHasActiveResponse));
                if benign {
                    tracing::debug!(error = %e.error, "benign race");
                } else {
                    tracing::warn!(error = %e.error, "server error");
                    self.bus.emit(AgentEvent::ServerError(e.error));
                }
            }
            ServerEvent::SpeechStarted(_) => {
                self.user_speaking = true;
                self.end_turn_early();
                self.idle_reported = false;
                self.bus.emit(AgentEvent::UserSpeechStarted);
                let server_cancels = self
                    .session
                    .effective_turn_detection()
                    .is_some_and(|t| t.interrupts_responses());
                self.interrupt(server_cancels).await;
            }
            ServerEvent::SpeechStopped(_) => {
                self.user_speaking = false;
                self.start_turn(TurnTrigger::SpeechStopped);
                self.expect_server_answer();
                self.bus.emit(AgentEvent::UserSpeechStopped);
            }
            ServerEvent::InputAudioBufferTimeoutTriggered(_) => {
                self.user_speaking = false;
            }
            ServerEvent::InputTranscriptionDelta(e) => {
                self.bus.emit(AgentEvent::UserTranscriptDelta {
                    item_id: e.item_id,
                    delta: e.delta,
                });
            }
            ServerEvent::InputTranscriptionCompleted(e) => {
                self.history.user_text(&e.transcript);
                self.bus.emit(AgentEvent::UserTranscript {
                    item_id: e.item_id,
                    text: e.transcript,
                });
            }
            ServerEvent::ResponseCreated(e) => {
                let id = e.response.id.clone().unwrap_or_default();
                self.server_answer_due = None;
                if Self::is_filler(&e.response) {
                    self.out_of_band.insert(id.clone());
                }
                self.gate.on_created(&id);
                self.turns.response_created(Instant::now());
                self.idle_reported = false;
            }
            ServerEvent::ConversationItemAdded(e) | ServerEvent::ConversationItemCreated(e) => {
                self.on_hosted_item(&e.item, None, false);
            }
            ServerEvent::ConversationItemDone(e) => {
                self.on_hosted_item(&e.item, None, true);
            }
            ServerEvent::McpListToolsCompleted(e) => self.on_listing(&e.item_id, true),
            ServerEvent::McpListToolsFailed(e) => self.on_listing(&e.item_id, false),
            ServerEvent::ResponseMcpCallArgumentsDone(e) => {
                self.on_hosted_arguments(&e.item_id, e.arguments.as_deref().unwrap_or_default());
            }
            ServerEvent::ResponseMcpCallFailed(e) => self.on_hosted_call_failed(&e.item_id),
            ServerEvent::ResponseOutputItemAdded(e) => {
                self.on_hosted_item(&e.item, Some(&e.response_id), false);
                if let Item::FunctionCall(call) = &e.item
                    && let Some(item_id) = &call.id
                {
                    self.call_names.insert(item_id.clone(), call.name.clone());
                }
                if let Some(id) = e.item.id() {
                    self.response_items
                        .entry(e.response_id.clone())
                        .or_default()
                        .push(id.to_owned());
                }
            }
            ServerEvent::ResponseFunctionCallArgumentsDone(e) => {
                let name = e
                    .name
                    .clone()
                    .or_else(|| self.call_names.get(&e.item_id).cloned())
                    .unwrap_or_default();
                self.start_call(&e.response_id, &e.call_id, &name, &e.arguments);
            }
            ServerEvent::ResponseOutputItemDone(e) => match &e.item {
                Item::FunctionCall(call) => {
                    self.start_call(&e.response_id, &call.call_id, &call.name, &call.arguments);
                }
                Item::McpCall(_) | Item::McpApprovalRequest(_) => {
                    self.on_hosted_item(&e.item, Some(&e.response_id), true);
                }
                // A filler's words are not in the conversation.
                Item::Message(_) if self.out_of_band.contains(&e.response_id) => {}
                Item::Message(message) => {
                    let id = message.id.clone().unwrap_or_default();
                    let text = match self.speech.heard(&id) {
                        Some(heard) => heard.to_owned(),
                        None => message
                            .content
                            .iter()
                            .filter_map(|p| p.words())
                            .collect::<Vec<_>>()
                            .join(" "),
                    };
                    self.history.assistant_text(&text, self.dialect);
                }
                _ => {}
            },
            ServerEvent::ResponseOutputTextDelta(e)
            | ServerEvent::ResponseOutputAudioTranscriptDelta(e) => {
                if self.speech.is_muted(&e.response_id) {
                    return;
                }
                self.speech.transcript(&e.item_id, &e.delta);
                self.turns.text();
                self.bus.emit(AgentEvent::AssistantDelta {
                    response_id: e.response_id,
                    item_id: e.item_id,
                    delta: e.delta,
                });
            }
            ServerEvent::ResponseOutputTextDone(e) => {
                self.bus.emit(AgentEvent::AssistantMessage {
                    response_id: e.response_id,
                    item_id: e.item_id,
                    text: e.text,
                });
            }
            ServerEvent::ResponseOutputAudioTranscriptDone(e) => {
                let text = self
                    .speech
                    .heard(&e.item_id)
                    .map_or(e.transcript, str::to_owned);
                self.bus.emit(AgentEvent::AssistantMessage {
                    response_id: e.response_id,
                    item_id: e.item_id,
                    text,
                });
            }
            ServerEvent::ResponseOutputAudioDelta(e) => self.on_audio(e),
            ServerEvent::ResponseOutputAudioDone(e) => {
                if let Some(sink) = &mut self.sink
                    && let Err(error) = sink.finish_item(&e.item_id)
                {
                    self.bus.emit(AgentEvent::AudioError(error.to_string()));
                }
            }
            ServerEvent::ResponseDone(e) => {
                let id = e.response.id.clone().unwrap_or_default();
                self.gate.on_done(&id);
                self.out_of_band.remove(&id);
                self.turns.response_done(Instant::now());
                if let Some(usage) = &e.response.usage {
                    self.usage.add(usage);
                }
                if self.calls.response_done(&id) {
                    self.gate.want(Want::ToolOutputs);
                }
                if let Some(items) = self.response_items.remove(&id) {
                    self.speech.response_done(&items);
                    for item in &items {
                        self.call_names.remove(item);
                    }
                }
                self.bus.emit(AgentEvent::ResponseDone {
                    response_id: id,
                    status: e.response.status.clone().unwrap_or_default(),
                    usage: e.response.usage.clone().map(Box::new),
                });
                self.maybe_rotate();
            }
            ServerEvent::RateLimitsUpdated(e) => {
                // An exhausted limit: no new response until it resets (the server would refuse).
                for limit in e.rate_limits.iter().filter(|l| l.remaining == 0) {
                    let wait = Duration::from_secs_f64(limit.reset_seconds.clamp(0.0, 3600.0));
                    tracing::warn!(limit = %limit.name, ?wait, "rate limit exhausted; holding responses");
                    self.gate.hold_until(Instant::now() + wait);
                }
            }
            ServerEvent::Unknown(unknown) => {
                tracing::debug!(event_type = %unknown.event_type, "unknown server event");
                self.bus.emit(AgentEvent::UnknownEvent(unknown));
            }
            _ => {}
        }
    }

    pub(super) fn on_audio(&mut self, delta: crate::protocol::ContentDelta) {
        if self.speech.is_muted(&delta.response_id) {
            return;
        }
        let audio = match base64::engine::general_purpose::STANDARD.decode(delta.delta.as_bytes()) {
            Ok(audio) => audio,
            Err(error) => {
                self.bus.emit(AgentEvent::MalformedFrame {
                    error: format!("audio delta is not valid base64: {error}"),
                });
                return;
            }
        };
        self.speech.received(&delta.item_id, audio.len());
        self.turns.audio();
        if let Some(sink) = &mut self.sink
            && let Err(error) = sink.play(&delta.item_id, &audio)
        {
            self.bus.emit(AgentEvent::AudioError(error.to_string()));
        }
        if self.settings.emit_audio_events && self.bus.has_subscribers() {
            self.bus.emit(AgentEvent::AssistantAudio {
                response_id: delta.response_id,
                item_id: delta.item_id,
                audio: audio.into(),
            });
        }
    }

    /// The user's input ended: a turn starts (one still open is reported as cut short).
    fn start_turn(&mut self, trigger: TurnTrigger) {
        if let Some(metrics) = self.turns.start(trigger, Instant::now()) {
            self.bus.emit(AgentEvent::TurnMetrics(Box::new(metrics)));
        }
    }

    /// The user took the turn before the open one was over.
    fn end_turn_early(&mut self) {
        if let Some(metrics) = self.turns.interrupted(Instant::now()) {
            self.bus.emit(AgentEvent::TurnMetrics(Box::new(metrics)));
        }
    }

    /// Barge-in (the user spoke) or an interrupt through the handle.
    pub(super) async fn interrupt(&mut self, server_cancels: bool) {
        let active = self.gate.active().map(str::to_owned);
        let output_format = self.session.output_audio_format.unwrap_or_default();
        let sink = self.sink.as_deref_mut();
        if let Some(cut) = self
            .speech
            .interrupt(sink, output_format, active.as_deref())
        {
            // A filler's item is in no conversation: there is nothing to truncate.
            if !active
                .as_ref()
                .is_some_and(|id| self.out_of_band.contains(id))
            {
                self.send(ClientEvent::truncate(&cut.item_id, 0, cut.audio_end_ms))
                    .await;
            }
            self.bus.emit(AgentEvent::Interrupted {
                item_id: cut.item_id,
                played_ms: cut.audio_end_ms,
                heard_text: cut.heard_text,
            });
        }
        if active.is_some() && !server_cancels {
            self.send(ClientEvent::response_cancel()).await;
        }
        self.calls.interrupt();
        self.gate.forget();
    }

    pub(super) async fn on_command(&mut self, command: Command) {
        match command {
            Command::Text(text) => {
                self.idle_reported = false;
                self.start_turn(TurnTrigger::Text);
                self.post(ClientEvent::item_create(Item::user_text(text)))
                    .await;
                self.gate.want(Want::UserTurn);
            }
            Command::Audio(audio) => {
                if let Some(live) = &self.live {
                    let _ = live.sender.send_audio(&audio).await;
                }
            }
            Command::Commit | Command::SourceEnded => {
                let manual = self.session.effective_turn_detection().is_none();
                if matches!(command, Command::Commit) || manual {
                    self.idle_reported = false;
                    self.start_turn(TurnTrigger::Commit);
                    self.send(ClientEvent::commit()).await;
                    self.gate.want(Want::UserTurn);
                }
            }
            Command::Respond(options) => {
                self.idle_reported = false;
                self.next_options = options.map(|o| *o);
                self.gate.want(Want::Requested);
            }
            Command::Interrupt => {
                self.end_turn_early();
                self.interrupt(false).await;
            }
            Command::Decide {
                call_id,
                approve,
                reason,
            } => {
                if self.decide_hosted(&call_id, approve, reason.clone()).await {
                    return;
                }
                let decision = if approve {
                    Decision::Approve
                } else {
                    Decision::Reject(reason)
                };
                if !self.calls.decide(&call_id, decision) {
                    tracing::warn!(call_id, "no tool call is waiting for approval with this id");
                }
            }
            Command::UpdateSession(update) => {
                let mut update = *update;
                if self.dialect == Dialect::Ga && update.kind.is_none() {
                    update.kind = Some(SessionKind::Realtime);
                }
                self.session.merge(&update);
                self.send(ClientEvent::session_update(update)).await;
            }
            Command::ChangeTools { change, reply } => {
                let outcome = self.change_tools(*change).await;
                // The caller may have stopped waiting; the change is made either way.
                let _ = reply.send(outcome);
            }
            Command::Raw(event) => {
                self.send(*event).await;
            }
        }
    }

    /// A finished call to a `transfer_to_NAME` tool hands the conversation to NAME: its
    /// instructions and tools go out in one `session.update` before the call's output, so the
    /// response that follows the batch is the new agent's.
    async fn maybe_hand_off(&mut self, call_id: &str) {
        let Some(roster) = self.settings.roster.clone() else {
            return;
        };
        let Some(target) = self
            .calls
            .name_of(call_id)
            .and_then(|t| roster.target_of(t))
        else {
            return;
        };
        let Some(change) = roster.change_to(target) else {
            return;
        };
        tracing::info!(agent = target, "handing the conversation over");
        match self.change_tools(change).await {
            Ok(()) => {
                let to = target.to_owned();
                let from = self.current_agent.replace(to.clone()).unwrap_or_default();
                self.bus.emit(AgentEvent::HandedOff { from, to });
            }
            // The roster's registries were checked at build; a refusal here is a bug, and the
            // conversation goes on with the current agent rather than ending.
            Err(error) => tracing::warn!(agent = target, %error, "the handoff was refused"),
        }
    }

    /// Applies a tool change: the registry calls are looked up in and the session's tools
    /// change together, with one `session.update` (kept for reconnects like any other).
    async fn change_tools(
        &mut self,
        change: crate::agent::ToolChange,
    ) -> Result<(), crate::tool::RegistryError> {
        let applied = change.apply(self.calls.registry())?;
        let mut update = applied.session;
        if let Some(tools) = update.tools.take() {
            update.tools = Some(hosted::with_hosted(&self.settings.hosted_mcp, tools));
        }
        if self.dialect == Dialect::Ga && update.kind.is_none() {
            update.kind = Some(SessionKind::Realtime);
        }
        self.calls
            .set_registry(std::sync::Arc::new(applied.registry), applied.removed);
        self.session.merge(&update);
        self.send(ClientEvent::session_update(update)).await;
        Ok(())
    }
}
