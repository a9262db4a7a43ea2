//! Responses: planning a scripted reply into events, streaming them, cancelling, finishing.

use super::*;

impl Connection {
    pub(super) async fn start_response(&mut self, reply: Reply) -> Flow {
        self.start_response_with(reply, None).await
    }

    /// Starts a response; `out_of_band` ones write nothing to the conversation.
    pub(super) async fn start_response_with(
        &mut self,
        reply: Reply,
        out_of_band: Option<OutOfBand>,
    ) -> Flow {
        let id = self.next_id("resp");
        let session = self.state.lock().unwrap().session.clone();
        let audio = session
            .output_modalities
            .as_ref()
            .is_none_or(|m| m.contains(&crate::protocol::Modality::Audio));
        let mut active = Active {
            id: id.clone(),
            out_of_band,
            planned: VecDeque::new(),
            output: Vec::new(),
            pace: reply.pace,
            next_at: Instant::now(),
            sent_events: 0,
            drop_after: reply.drop_after_events,
            fail: reply.fail,
            audio_ms: 0,
            text_chars: 0,
        };
        let mut response = self.response_object(&id, ResponseStatus::InProgress, &session);
        response.output.clear();
        if let Some(out_of_band) = &active.out_of_band {
            response.conversation_id = None;
            response.metadata = out_of_band.metadata.clone();
        }
        let created = ServerEvent::ResponseCreated(ResponseEvent {
            response: Box::new(response),
            ..Default::default()
        });
        // Calls the user approved since the last response run first; rejected ones never do.
        let mut index = 0;
        if active.out_of_band.is_none() {
            for (label, name, arguments, request) in self.take_approved() {
                self.plan_mcp_call(&mut active, index, &label, &name, &arguments, Some(request));
                index += 1;
            }
        }
        for output in &reply.outputs {
            if let Output::McpCall {
                server_label,
                name,
                arguments,
            } = output
            {
                // An approval request ends the response.
                if self.plan_hosted(&mut active, index, server_label, name, arguments) {
                    break;
                }
            } else {
                self.plan_output(&mut active, index, output, audio, reply.audio_chunk_bytes);
            }
            index += 1;
        }
        if let Some(wait) = reply.first_delta_after
            && let Some(first) = active.planned.iter_mut().find(|p| p.delta)
        {
            first.wait = Some(wait);
        }
        let batch = match reply.created_after {
            // Not a delta: a cancel before it still sends it, then `response.done`.
            Some(wait) => {
                active.planned.push_front(Planned {
                    event: created,
                    delta: false,
                    wait: Some(wait),
                });
                Vec::new()
            }
            None => vec![created],
        };
        self.active = Some(active);
        self.stream_due_after(batch).await
    }

    pub(super) fn plan_output(
        &mut self,
        active: &mut Active,
        index: u32,
        output: &Output,
        audio: bool,
        chunk: usize,
    ) {
        let item_id = self.next_id("item");
        let response_id = active.id.clone();
        let dialect = self.dialect;
        let in_conversation = active.out_of_band.is_none();
        let added = |response_id: &str, index: u32, item: Item| {
            added_item(dialect, in_conversation, response_id, index, item)
        };
        let done = |response_id: &str, index: u32, item: Item| {
            done_item(dialect, in_conversation, response_id, index, item)
        };
        let push = |active: &mut Active, event: ServerEvent, delta: bool| {
            active.planned.push_back(Planned {
                event,
                delta,
                wait: None,
            });
        };
        match output {
            // Planned by `plan_hosted`, which may end the response.
            Output::McpCall { .. } => {}
            Output::FunctionCall {
                name,
                arguments,
                call_id,
            } => {
                let call_id = call_id.clone().unwrap_or_else(|| self.next_id("call"));
                let mut item = FunctionCallItem {
                    id: Some(item_id.clone()),
                    status: Some(ItemStatus::InProgress),
                    call_id: call_id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    ..FunctionCallItem::default()
                };
                for event in added(&response_id, index, Item::FunctionCall(item.clone())) {
                    push(active, event, false);
                }
                let half = split_point(arguments, arguments.len() / 2);
                for piece in [&arguments[..half], &arguments[half..]] {
                    if piece.is_empty() {
                        continue;
                    }
                    push(
                        active,
                        ServerEvent::ResponseFunctionCallArgumentsDelta(
                            FunctionCallArgumentsDelta {
                                response_id: response_id.clone(),
                                item_id: item_id.clone(),
                                output_index: index,
                                call_id: call_id.clone(),
                                delta: piece.to_owned(),
                                ..Default::default()
                            },
                        ),
                        true,
                    );
                }
                push(
                    active,
                    ServerEvent::ResponseFunctionCallArgumentsDone(FunctionCallArgumentsDone {
                        response_id: response_id.clone(),
                        item_id: item_id.clone(),
                        output_index: index,
                        call_id,
                        name: (self.dialect == Dialect::Ga).then(|| name.clone()),
                        arguments: arguments.clone(),
                        ..Default::default()
                    }),
                    false,
                );
                item.status = Some(ItemStatus::Completed);
                item.arguments = arguments.clone();
                for event in done(&response_id, index, Item::FunctionCall(item.clone())) {
                    push(active, event, false);
                }
                active.output.push(Item::FunctionCall(item));
            }
            Output::Message { text, audio: bytes } => {
                let format = self.output_format();
                let (part_kind, item_kind) = match (audio, self.dialect) {
                    (true, Dialect::Ga) => (ContentKind::Audio, ContentKind::OutputAudio),
                    (true, Dialect::Beta) => (ContentKind::Audio, ContentKind::Audio),
                    (false, Dialect::Ga) => (ContentKind::Text, ContentKind::OutputText),
                    (false, Dialect::Beta) => (ContentKind::Text, ContentKind::Text),
                };
                let mut item = MessageItem {
                    id: Some(item_id.clone()),
                    status: Some(ItemStatus::InProgress),
                    role: Role::Assistant,
                    ..MessageItem::default()
                };
                for event in added(&response_id, index, Item::Message(item.clone())) {
                    push(active, event, false);
                }
                let empty_part = ContentPart {
                    kind: part_kind.clone(),
                    text: (!audio).then(String::new),
                    transcript: audio.then(String::new),
                    ..ContentPart::default()
                };
                let part_event = |part: ContentPart| ContentPartEvent {
                    response_id: response_id.clone(),
                    item_id: item_id.clone(),
                    output_index: index,
                    content_index: 0,
                    part,
                    ..Default::default()
                };
                push(
                    active,
                    ServerEvent::ResponseContentPartAdded(part_event(empty_part)),
                    false,
                );
                let delta = |delta: String| ContentDelta {
                    response_id: response_id.clone(),
                    item_id: item_id.clone(),
                    output_index: index,
                    content_index: 0,
                    delta,
                    ..Default::default()
                };
                let words: Vec<String> = split_words(text);
                active.text_chars += text.len();
                if audio {
                    let pcm = bytes.clone().unwrap_or_else(|| synth::speech(text, format));
                    active.audio_ms += format.ms_for_bytes(pcm.len());
                    let chunks: Vec<&[u8]> = pcm.chunks(chunk.max(1)).collect();
                    let steps = chunks.len().max(words.len());
                    for i in 0..steps {
                        if let Some(word) = words.get(i) {
                            push(
                                active,
                                ServerEvent::ResponseOutputAudioTranscriptDelta(delta(
                                    word.clone(),
                                )),
                                true,
                            );
                        }
                        if let Some(chunk) = chunks.get(i) {
                            let b64 = base64::engine::general_purpose::STANDARD.encode(chunk);
                            push(
                                active,
                                ServerEvent::ResponseOutputAudioDelta(delta(b64)),
                                true,
                            );
                        }
                    }
                    push(
                        active,
                        ServerEvent::ResponseOutputAudioDone(AudioDone {
                            response_id: response_id.clone(),
                            item_id: item_id.clone(),
                            output_index: index,
                            content_index: 0,
                            ..Default::default()
                        }),
                        false,
                    );
                    push(
                        active,
                        ServerEvent::ResponseOutputAudioTranscriptDone(TranscriptDone {
                            response_id: response_id.clone(),
                            item_id: item_id.clone(),
                            output_index: index,
                            content_index: 0,
                            transcript: text.clone(),
                            ..Default::default()
                        }),
                        false,
                    );
                } else {
                    for word in &words {
                        push(
                            active,
                            ServerEvent::ResponseOutputTextDelta(delta(word.clone())),
                            true,
                        );
                    }
                    push(
                        active,
                        ServerEvent::ResponseOutputTextDone(TextDone {
                            response_id: response_id.clone(),
                            item_id: item_id.clone(),
                            output_index: index,
                            content_index: 0,
                            text: text.clone(),
                            ..Default::default()
                        }),
                        false,
                    );
                }
                let full_part = ContentPart {
                    kind: part_kind,
                    text: (!audio).then(|| text.clone()),
                    transcript: audio.then(|| text.clone()),
                    ..ContentPart::default()
                };
                push(
                    active,
                    ServerEvent::ResponseContentPartDone(part_event(full_part.clone())),
                    false,
                );
                item.status = Some(ItemStatus::Completed);
                item.content = vec![ContentPart {
                    kind: item_kind,
                    ..full_part
                }];
                for event in done(&response_id, index, Item::Message(item.clone())) {
                    push(active, event, false);
                }
                active.output.push(Item::Message(item));
            }
        }
    }

    /// Sends the planned events that are due (all of them when unpaced).
    pub(super) async fn stream_due(&mut self) -> Flow {
        self.stream_due_after(Vec::new()).await
    }

    /// Sends `batch` and then everything of the active response that is due, in one write, as
    /// a server streaming fast would.
    async fn stream_due_after(&mut self, mut batch: Vec<ServerEvent>) -> Flow {
        let mut finished = None;
        let mut drop_now = false;
        while let Some(active) = self.active.as_mut() {
            if active.next_at > Instant::now() {
                break;
            }
            if let Some(wait) = active.planned.front_mut().and_then(|p| p.wait.take()) {
                active.next_at = Instant::now() + wait;
                continue;
            }
            let Some(planned) = active.planned.pop_front() else {
                finished = Some(if active.fail {
                    ResponseStatus::Failed
                } else {
                    ResponseStatus::Completed
                });
                break;
            };
            if active
                .drop_after
                .is_some_and(|limit| active.sent_events >= limit)
            {
                drop_now = true;
                break;
            }
            active.sent_events += 1;
            if let (true, Some(pace)) = (planned.delta, active.pace) {
                active.next_at = Instant::now() + pace;
            }
            self.track(&planned.event);
            batch.push(planned.event);
        }
        if let Some(status) = finished {
            // The end of the response goes out in the same write as its last events.
            batch.extend(self.finish_events(status, None));
        }
        if !batch.is_empty()
            && let Flow::Stop = self.flow(batch).await
        {
            return Flow::Stop;
        }
        if drop_now {
            let _ = self.ws.get_ref().set_zero_linger();
            return Flow::Stop;
        }
        Flow::Continue
    }

    /// Keeps the conversation in step with what has been streamed.
    pub(super) fn track(&mut self, event: &ServerEvent) {
        let out_of_band = self
            .active
            .as_ref()
            .is_some_and(|active| active.out_of_band.is_some());
        match event {
            ServerEvent::ResponseOutputItemAdded(_) | ServerEvent::ResponseOutputItemDone(_)
                if out_of_band => {}
            ServerEvent::ResponseOutputItemAdded(e) => {
                self.state.lock().unwrap().conversation.push(e.item.clone());
            }
            ServerEvent::ResponseOutputItemDone(e) => {
                self.state
                    .lock()
                    .unwrap()
                    .conversation
                    .replace(e.item.clone());
            }
            ServerEvent::ResponseOutputAudioDelta(d) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(d.delta.as_bytes())
                    .map(|b| b.len())
                    .unwrap_or(0);
                *self
                    .audio_bytes_by_item
                    .entry(d.item_id.clone())
                    .or_insert(0) += bytes;
                let mut state = self.state.lock().unwrap();
                *state.audio_bytes_sent.entry(d.item_id.clone()).or_insert(0) += bytes;
            }
            _ => {}
        }
    }

    pub(super) async fn cancel(&mut self, reason: &str) -> Flow {
        let Some(active) = self.active.as_mut() else {
            return Flow::Continue;
        };
        let remaining: Vec<ServerEvent> = active
            .planned
            .drain(..)
            .filter(|p| !p.delta)
            .map(|p| p.event)
            .collect();
        for item in &mut active.output {
            set_status(item, ItemStatus::Incomplete);
        }
        let mut remaining = remaining;
        for event in &remaining {
            self.track(event);
        }
        remaining.extend(self.finish_events(ResponseStatus::Cancelled, Some(reason)));
        self.flow(remaining).await
    }

    /// Ends the active response: `response.done` (with its output and usage) and
    /// `rate_limits.updated`, as the API sends them.
    pub(super) fn finish_events(
        &mut self,
        status: ResponseStatus,
        reason: Option<&str>,
    ) -> Vec<ServerEvent> {
        let Some(active) = self.active.take() else {
            return Vec::new();
        };
        let session = self.state.lock().unwrap().session.clone();
        let mut response = self.response_object(&active.id, status.clone(), &session);
        response.output = active.output;
        if let Some(out_of_band) = active.out_of_band {
            response.conversation_id = None;
            response.metadata = out_of_band.metadata;
        }
        response.status_details = match status {
            ResponseStatus::Cancelled => Some(StatusDetails {
                kind: Some("cancelled".into()),
                reason: reason.map(str::to_owned),
                ..Default::default()
            }),
            ResponseStatus::Failed => Some(StatusDetails {
                kind: Some("failed".into()),
                error: Some(json!({"type": "server_error", "code": "fake_failure"})),
                ..Default::default()
            }),
            _ => None,
        };
        response.usage = Some(self.usage(active.audio_ms, active.text_chars));
        let done = ServerEvent::ResponseDone(ResponseEvent {
            response: Box::new(response),
            ..Default::default()
        });
        let limits = ServerEvent::RateLimitsUpdated(RateLimitsUpdated {
            rate_limits: vec![RateLimit {
                name: "tokens".into(),
                limit: 40_000,
                remaining: 39_000,
                reset_seconds: 1.5,
                ..Default::default()
            }],
            ..Default::default()
        });
        self.state.lock().unwrap().responses_done += 1;
        vec![done, limits]
    }

    pub(super) fn usage(&self, audio_out_ms: u64, text_out_chars: usize) -> Usage {
        let (text_in, audio_in) = {
            let state = self.state.lock().unwrap();
            // About four characters a text token; a user audio token per 100 ms.
            (
                state.conversation.text_chars as u64 / 4,
                state.conversation.user_audio_ms / 100,
            )
        };
        let text_out = (text_out_chars / 4) as u64 + 1;
        let audio_out = audio_out_ms / 50;
        let input = text_in + audio_in;
        let output = text_out + audio_out;
        Usage {
            total_tokens: input + output,
            input_tokens: input,
            output_tokens: output,
            input_token_details: Some(InputTokenDetails {
                text_tokens: text_in,
                audio_tokens: audio_in,
                cached_tokens: 0,
                cached_tokens_details: Some(Default::default()),
                ..Default::default()
            }),
            output_token_details: Some(OutputTokenDetails {
                text_tokens: text_out,
                audio_tokens: audio_out,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub(super) fn response_object(
        &self,
        id: &str,
        status: ResponseStatus,
        session: &SessionConfig,
    ) -> Response {
        let mut response = Response {
            id: Some(id.to_owned()),
            object: Some("realtime.response".into()),
            status: Some(status),
            conversation_id: Some("conv_fake".into()),
            ..Response::default()
        };
        let modalities = session
            .output_modalities
            .clone()
            .unwrap_or_else(|| vec![crate::protocol::Modality::Audio]);
        let format = session.output_audio_format.unwrap_or_default();
        let voice = session.voice.clone().map_or_else(
            || Value::from("alloy"),
            |v| serde_json::to_value(v).unwrap_or_default(),
        );
        match self.dialect {
            Dialect::Ga => {
                response.extra.insert(
                    "output_modalities".into(),
                    crate::protocol::modalities_to_wire(&modalities, Dialect::Ga),
                );
                response.extra.insert(
                    "audio".into(),
                    json!({"output": {"format": format.to_wire(Dialect::Ga), "voice": voice}}),
                );
            }
            Dialect::Beta => {
                response.extra.insert(
                    "modalities".into(),
                    crate::protocol::modalities_to_wire(&modalities, Dialect::Beta),
                );
                response.extra.insert("voice".into(), voice);
                response
                    .extra
                    .insert("output_audio_format".into(), format.to_wire(Dialect::Beta));
            }
        }
        response
    }
}

pub(super) fn added_item(
    dialect: Dialect,
    in_conversation: bool,
    response_id: &str,
    index: u32,
    item: Item,
) -> Vec<ServerEvent> {
    // The item enters the conversation as the response adds it: GA says so with
    // `conversation.item.added`, beta with `conversation.item.created`.
    let conversation = ItemEvent {
        item: item.clone(),
        ..Default::default()
    };
    let mut events = vec![ServerEvent::ResponseOutputItemAdded(OutputItemEvent {
        response_id: response_id.to_owned(),
        output_index: index,
        item,
        ..Default::default()
    })];
    // An out-of-band response's items are in no conversation.
    if in_conversation {
        events.push(match dialect {
            Dialect::Ga => ServerEvent::ConversationItemAdded(conversation),
            Dialect::Beta => ServerEvent::ConversationItemCreated(conversation),
        });
    }
    events
}

pub(super) fn done_item(
    dialect: Dialect,
    in_conversation: bool,
    response_id: &str,
    index: u32,
    item: Item,
) -> Vec<ServerEvent> {
    let mut events = vec![ServerEvent::ResponseOutputItemDone(OutputItemEvent {
        response_id: response_id.to_owned(),
        output_index: index,
        item: item.clone(),
        ..Default::default()
    })];
    if dialect == Dialect::Ga && in_conversation {
        events.push(ServerEvent::ConversationItemDone(ItemEvent {
            item,
            ..Default::default()
        }));
    }
    events
}

pub(super) fn set_status(item: &mut Item, status: ItemStatus) {
    match item {
        Item::Message(m) => m.status = Some(status),
        Item::FunctionCall(c) => c.status = Some(status),
        Item::FunctionCallOutput(o) => o.status = Some(status),
        // The MCP items carry no status.
        Item::McpListTools(_)
        | Item::McpCall(_)
        | Item::McpApprovalRequest(_)
        | Item::McpApprovalResponse(_)
        | Item::Other(_) => {}
    }
}

/// Splits text into word-sized deltas that concatenate back to it exactly.
fn split_words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch == ' ' && !current.trim().is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

pub(super) fn split_point(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    pub(super) fn words_concatenate_back() {
        for text in [
            "",
            "one",
            "it is 18 degrees",
            "  spaced  out ",
            "héllo wörld",
        ] {
            assert_eq!(split_words(text).concat(), text);
        }
    }
}
