//! Answers to client events, as the API gives them.

use super::response::set_status;
use super::*;

impl Connection {
    pub(super) async fn on_frame(&mut self, text: &str) -> Flow {
        let decoded = ClientEvent::from_json(text);
        // Only a frame that did not decode needs a second look for its type and id.
        let peek = match &decoded {
            Ok(_) => crate::protocol::Peek::default(),
            Err(_) => crate::protocol::Peek::of(text).unwrap_or_default(),
        };
        let event_type = match &decoded {
            Ok(event) => event.event_type(),
            Err(_) => peek.kind.as_deref().unwrap_or("?"),
        };
        self.shared.record_received(
            &self.state,
            self.id,
            event_type,
            decoded.as_ref().ok(),
            text,
        );
        let event = match decoded {
            Ok(event) => event,
            Err(err) => {
                let event_id = peek.event_id.map(|id| id.into_owned());
                let error = match err {
                    crate::protocol::DecodeError::MissingType => ApiError::new(
                        "invalid_request_error",
                        "invalid_event",
                        "The 'type' field is missing.",
                    ),
                    other => {
                        ApiError::new("invalid_request_error", "invalid_event", other.to_string())
                    }
                };
                return self.send_error(error, event_id).await;
            }
        };
        let event_id = event.event_id().map(str::to_owned);
        match event {
            ClientEvent::SessionUpdate(update) => {
                self.on_session_update(*update.session, event_id, text)
                    .await
            }
            ClientEvent::TranscriptionSessionUpdate(_) => {
                let session = self.state.lock().unwrap().session.clone();
                self.flow(vec![ServerEvent::TranscriptionSessionUpdated(
                    SessionEvent {
                        session: Box::new(session),
                        ..Default::default()
                    },
                )])
                .await
            }
            ClientEvent::InputAudioBufferAppend(append) => {
                match base64::engine::general_purpose::STANDARD.decode(append.audio.as_bytes()) {
                    Ok(bytes) => {
                        {
                            let mut state = self.state.lock().unwrap();
                            state.input_buffer.extend_from_slice(&bytes);
                            if self.shared.keep_input_audio {
                                state.input_audio.extend_from_slice(&bytes);
                            }
                        }
                        match self.detect_speech(&bytes) {
                            Some(super::vad::Speech::Started) => {
                                self.on_command(Command::SpeechStarted).await
                            }
                            Some(super::vad::Speech::Stopped) => {
                                self.on_command(Command::SpeechStopped).await
                            }
                            None => Flow::Continue,
                        }
                    }
                    Err(_) => {
                        self.send_error(
                            ApiError::new(
                                "invalid_request_error",
                                "invalid_value",
                                "Invalid base64 audio.",
                            ),
                            event_id,
                        )
                        .await
                    }
                }
            }
            ClientEvent::InputAudioBufferCommit(_) => self.commit(event_id).await,
            ClientEvent::InputAudioBufferClear(_) => {
                self.state.lock().unwrap().input_buffer.clear();
                self.flow(vec![ServerEvent::InputAudioBufferCleared(
                    EmptyEvent::default(),
                )])
                .await
            }
            ClientEvent::ConversationItemCreate(create) => {
                self.on_item_create(create.item, create.previous_item_id, event_id)
                    .await
            }
            ClientEvent::ConversationItemRetrieve(r) => {
                let item = self.find_item(&r.item_id);
                match item {
                    Some(item) => {
                        self.flow(vec![ServerEvent::ConversationItemRetrieved(
                            crate::protocol::ItemRetrieved {
                                item,
                                ..Default::default()
                            },
                        )])
                        .await
                    }
                    None => self.no_such_item(&r.item_id, event_id).await,
                }
            }
            ClientEvent::ConversationItemTruncate(t) => {
                self.on_truncate(t.item_id, t.content_index, t.audio_end_ms, event_id)
                    .await
            }
            ClientEvent::ConversationItemDelete(d) => {
                let removed = self.state.lock().unwrap().conversation.remove(&d.item_id);
                if removed {
                    self.flow(vec![ServerEvent::ConversationItemDeleted(ItemDeleted {
                        item_id: d.item_id,
                        ..Default::default()
                    })])
                    .await
                } else {
                    self.no_such_item(&d.item_id, event_id).await
                }
            }
            ClientEvent::ResponseCreate(create) => {
                if let Some(active) = &self.active {
                    let message = format!(
                        "Conversation already has an active response in progress: {}. Wait until the response is finished before creating a new one.",
                        active.id
                    );
                    return self
                        .send_error(
                            ApiError::new(
                                "invalid_request_error",
                                "conversation_already_has_active_response",
                                message,
                            ),
                            event_id,
                        )
                        .await;
                }
                let options = create.response.as_deref();
                let reply = self.shared.next_reply(&self.state, false, 0, options);
                let out_of_band = options.and_then(OutOfBand::of);
                self.start_response_with(reply, out_of_band).await
            }
            ClientEvent::ResponseCancel(_) => {
                if self.active.is_some() {
                    self.cancel("client_cancelled").await
                } else {
                    self.send_error(
                        ApiError::new(
                            "invalid_request_error",
                            "response_cancel_not_active",
                            "Cancellation failed: no active response found",
                        ),
                        event_id,
                    )
                    .await
                }
            }
            ClientEvent::OutputAudioBufferClear(_) => Flow::Continue,
            // `ClientEvent` is non-exhaustive for users of the crate, not for us.
            #[allow(unreachable_patterns)]
            _ => Flow::Continue,
        }
    }

    pub(super) async fn on_session_update(
        &mut self,
        update: SessionConfig,
        event_id: Option<String>,
        raw: &str,
    ) -> Flow {
        // The real API rejects the other dialect's fields, and GA requires `session.type`.
        let wire: Value = serde_json::from_str(raw).unwrap_or_default();
        let session_wire = wire.get("session").and_then(Value::as_object);
        if let Some(session_wire) = session_wire {
            let shape = SessionConfig::detect_dialect(session_wire);
            if !session_wire.is_empty() && shape != self.dialect {
                let key = session_wire.keys().next().cloned().unwrap_or_default();
                return self
                    .send_error(
                        ApiError {
                            param: Some(format!("session.{key}")),
                            ..ApiError::new(
                                "invalid_request_error",
                                "unknown_parameter",
                                format!("Unknown parameter: 'session.{key}'."),
                            )
                        },
                        event_id,
                    )
                    .await;
            }
            if self.dialect == Dialect::Ga && !session_wire.contains_key("type") {
                return self
                    .send_error(
                        ApiError {
                            param: Some("session.type".into()),
                            ..ApiError::new(
                                "invalid_request_error",
                                "missing_required_parameter",
                                "Missing required parameter: 'session.type'.",
                            )
                        },
                        event_id,
                    )
                    .await;
            }
        }
        let session = {
            let mut state = self.state.lock().unwrap();
            state.session.merge(&update);
            state.session.clone()
        };
        let mut events = vec![ServerEvent::SessionUpdated(SessionEvent {
            session: Box::new(session),
            ..Default::default()
        })];
        // Declared hosted MCP servers are reached and their tools listed.
        if self.dialect == Dialect::Ga {
            events.extend(self.list_hosted_tools(&update));
        }
        self.flow(events).await
    }

    /// Runs the energy detector on appended audio, when the server simulates VAD and the
    /// session has turn detection on.
    pub(super) fn detect_speech(&mut self, audio: &[u8]) -> Option<super::vad::Speech> {
        if !self.shared.detect_speech {
            return None;
        }
        let (detection, format) = (self.turn_detection(), self.input_format());
        let (threshold, silence_ms) = match detection? {
            crate::protocol::TurnDetection::ServerVad(v) => (
                v.threshold.unwrap_or(0.5),
                v.silence_duration_ms.unwrap_or(500) as u64,
            ),
            crate::protocol::TurnDetection::SemanticVad(_) => (0.5, 700),
        };
        let detector = self
            .detector
            .get_or_insert_with(|| super::vad::SpeechDetector::new(threshold, silence_ms));
        detector.feed(audio, format)
    }

    pub(super) fn find_item(&self, id: &str) -> Option<Item> {
        self.state.lock().unwrap().conversation.get(id).cloned()
    }

    pub(super) async fn no_such_item(&mut self, id: &str, event_id: Option<String>) -> Flow {
        self.send_error(
            ApiError::new(
                "invalid_request_error",
                "item_not_found",
                format!("Item with item_id not found: {id}"),
            ),
            event_id,
        )
        .await
    }

    /// Events announcing a new conversation item, as the dialect does it.
    pub(super) fn item_events(&self, item: &Item, previous: Option<String>) -> Vec<ServerEvent> {
        let event = ItemEvent {
            previous_item_id: previous,
            item: item.clone(),
            ..Default::default()
        };
        match self.dialect {
            Dialect::Beta => vec![ServerEvent::ConversationItemCreated(event)],
            Dialect::Ga => vec![
                ServerEvent::ConversationItemAdded(event.clone()),
                ServerEvent::ConversationItemDone(event),
            ],
        }
    }

    pub(super) fn last_item_id(&self) -> Option<String> {
        self.state.lock().unwrap().conversation.last_id()
    }

    pub(super) async fn on_item_create(
        &mut self,
        mut item: Item,
        previous: Option<String>,
        event_id: Option<String>,
    ) -> Flow {
        if let Item::FunctionCallOutput(output) = &item {
            let known = self
                .state
                .lock()
                .unwrap()
                .conversation
                .has_call(&output.call_id);
            if !known {
                let message = format!(
                    "No tool call found for function call output with call_id {}.",
                    output.call_id
                );
                return self
                    .send_error(
                        ApiError {
                            param: Some("item.call_id".into()),
                            ..ApiError::new("invalid_request_error", "invalid_value", message)
                        },
                        event_id,
                    )
                    .await;
            }
        }
        if let Item::McpApprovalResponse(answer) = &item
            && !self.answer_approval(&answer.approval_request_id, answer.approve)
        {
            let message = format!(
                "No pending MCP approval request found with id {}.",
                answer.approval_request_id
            );
            return self
                .send_error(
                    ApiError {
                        param: Some("item.approval_request_id".into()),
                        ..ApiError::new("invalid_request_error", "invalid_value", message)
                    },
                    event_id,
                )
                .await;
        }
        if let Item::Message(MessageItem {
            role: Role::Assistant,
            content,
            ..
        }) = &item
            && content.iter().any(ContentPart::is_audio)
        {
            return self
                .send_error(
                    ApiError::new(
                        "invalid_request_error",
                        "invalid_value",
                        "Assistant messages cannot contain audio content.",
                    ),
                    event_id,
                )
                .await;
        }
        if item.id().is_none() {
            let id = self.next_id("item");
            item.set_id(id);
        }
        let prev = match previous {
            Some(p) if p == "root" => None,
            Some(p) => Some(p),
            None => self.last_item_id(),
        };
        set_status(&mut item, ItemStatus::Completed);
        self.state.lock().unwrap().conversation.push(item.clone());
        let events = self.item_events(&item, prev);
        self.flow(events).await
    }

    pub(super) async fn on_truncate(
        &mut self,
        item_id: String,
        content_index: u32,
        audio_end_ms: u64,
        event_id: Option<String>,
    ) -> Flow {
        let format = self.output_format();
        let Some(audio_ms) = self
            .audio_bytes_by_item
            .get(&item_id)
            .map(|bytes| format.ms_for_bytes(*bytes))
        else {
            return self
                .send_error(
                    ApiError::new(
                        "invalid_request_error",
                        "item_truncate_invalid_item_id",
                        format!("Invalid item_id for truncation: {item_id}"),
                    ),
                    event_id,
                )
                .await;
        };
        if audio_end_ms > audio_ms {
            return self
                .send_error(
                    ApiError {
                        param: Some("audio_end_ms".into()),
                        ..ApiError::new(
                            "invalid_request_error",
                            "invalid_value",
                            format!("Audio content of {audio_ms}ms is already shorter than {audio_end_ms}ms"),
                        )
                    },
                    event_id,
                )
                .await;
        }
        let kept = format.bytes_for_ms(audio_end_ms as u32);
        self.audio_bytes_by_item.insert(item_id.clone(), kept);
        self.state
            .lock()
            .unwrap()
            .truncations
            .push((item_id.clone(), audio_end_ms));
        self.flow(vec![ServerEvent::ConversationItemTruncated(
            ItemTruncated {
                item_id,
                content_index,
                audio_end_ms,
                ..Default::default()
            },
        )])
        .await
    }

    pub(super) async fn commit(&mut self, event_id: Option<String>) -> Flow {
        let format = self.input_format();
        let bytes = std::mem::take(&mut self.state.lock().unwrap().input_buffer);
        let ms = format.ms_for_bytes(bytes.len());
        if ms < 100 {
            let message = format!(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has {ms}.00ms of audio."
            );
            return self
                .send_error(
                    ApiError::new(
                        "invalid_request_error",
                        "input_audio_buffer_commit_empty",
                        message,
                    ),
                    event_id,
                )
                .await;
        }
        self.commit_turn(ms).await.0
    }

    /// Turns the input buffer's audio into a user item (and, under turn detection that creates
    /// responses, starts one). Returns the flow and the committed length.
    pub(super) async fn commit_turn(&mut self, ms: u64) -> (Flow, u64) {
        let item_id = self.next_id("item");
        let previous = self.last_item_id();
        let item = Item::Message(MessageItem {
            id: Some(item_id.clone()),
            role: Role::User,
            status: Some(ItemStatus::Completed),
            content: vec![ContentPart {
                kind: ContentKind::InputAudio,
                ..ContentPart::default()
            }],
            ..MessageItem::default()
        });
        let wire_item = item.clone();
        {
            let mut state = self.state.lock().unwrap();
            state.conversation.push(item);
            state.conversation.user_audio_ms += ms;
        }
        let mut events = vec![ServerEvent::InputAudioBufferCommitted(BufferCommitted {
            previous_item_id: previous.clone(),
            item_id,
            ..Default::default()
        })];
        events.extend(self.item_events(&wire_item, previous));
        (self.flow(events).await, ms)
    }

    pub(super) fn input_format(&self) -> crate::protocol::AudioFormat {
        self.state
            .lock()
            .unwrap()
            .session
            .input_audio_format
            .unwrap_or_default()
    }

    pub(super) fn output_format(&self) -> crate::protocol::AudioFormat {
        self.state
            .lock()
            .unwrap()
            .session
            .output_audio_format
            .unwrap_or_default()
    }

    /// The turn detection in effect for this connection's session.
    pub(super) fn turn_detection(&self) -> Option<crate::protocol::TurnDetection> {
        self.state
            .lock()
            .unwrap()
            .session
            .effective_turn_detection()
    }

    pub(super) fn buffered_ms(&self) -> u64 {
        let format = self.input_format();
        format.ms_for_bytes(self.state.lock().unwrap().input_buffer.len())
    }
}
