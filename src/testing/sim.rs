//! The `--sim` model: a small scripted stand-in for the Realtime model, so that a new user sees
//! the whole loop (tools included) with no key and no network.
//!
//! [`SimModel`] is a [`Responder`] for the [`FakeServer`](super::FakeServer). When the user's
//! words name one of the session's tools (its name, or words of its description), it calls that
//! tool with arguments taken from the message where it can (numbers, quoted strings, enum
//! values, a URL, and the remaining words for a single string parameter), using the tool's JSON
//! Schema from the session. When the tool's output comes back it says it in words. Otherwise it
//! answers in text (or speech, in an audio session), saying plainly that it is a simulation.
//!
//! ```
//! use realtime_agent::testing::FakeServer;
//! use realtime_agent::testing::sim::SimModel;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = FakeServer::builder().responder(SimModel::new()).start().await;
//! println!("a simulated Realtime model listens on {}", server.url());
//! # });
//! ```

mod arguments;
mod words;

use std::time::Duration;

use serde_json::Value;

use super::script::{Reply, Responder, ResponseRequest};
use crate::protocol::{FunctionDefinition, Item, Role, ToolDefinition};
use arguments::Arguments;
use words::Message;

/// Pause between streamed words by default, so that answers appear as a model's do.
const DEFAULT_PACE: Duration = Duration::from_millis(20);

/// The simulated model behind `agent --sim`. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SimModel {
    pace: Option<Duration>,
    voice: Option<Vec<u8>>,
}

impl Default for SimModel {
    fn default() -> Self {
        SimModel {
            pace: Some(DEFAULT_PACE),
            voice: None,
        }
    }
}

impl SimModel {
    /// A simulated model that streams its answers a word every 20 ms.
    pub fn new() -> SimModel {
        SimModel::default()
    }

    /// Streams answers with `pace` between words (`None`: all at once).
    pub fn paced(mut self, pace: Option<Duration>) -> SimModel {
        self.pace = pace;
        self
    }

    /// Speaks `audio` (bytes in the session's output format) as every spoken answer, instead
    /// of a synthesized tone: real speech for playback and echo tests.
    pub fn voice(mut self, audio: Vec<u8>) -> SimModel {
        self.voice = Some(audio);
        self
    }

    fn say(&self, text: String) -> Reply {
        let reply = match &self.voice {
            Some(audio) => Reply::audio(text, audio.clone()),
            None => Reply::text(text),
        };
        match self.pace {
            Some(pace) => reply.paced(pace),
            None => reply,
        }
    }
}

impl Responder for SimModel {
    fn respond(&mut self, request: &ResponseRequest<'_>) -> Reply {
        // An out-of-band request while a tool works: a filler, not an answer.
        let out_of_band = request
            .options
            .is_some_and(|o| o.conversation.as_deref() == Some("none"));
        if out_of_band {
            return self.say("One moment, I'm working on it.".to_owned());
        }
        match decide(request) {
            Decision::Call { name, arguments } => Reply::call(name, arguments),
            Decision::Say(text) => self.say(text),
        }
    }
}

/// What the sim does for one response.
#[derive(Debug, Clone, PartialEq)]
enum Decision {
    Call { name: String, arguments: Value },
    Say(String),
}

fn decide(request: &ResponseRequest<'_>) -> Decision {
    let conversation = request.conversation;
    if let Some(Item::FunctionCallOutput(_)) = conversation.last() {
        return Decision::Say(describe_outputs(conversation));
    }
    let tools: Vec<&FunctionDefinition> = request
        .session
        .tools
        .iter()
        .flatten()
        .filter_map(|tool| match tool {
            ToolDefinition::Function(function) => Some(function),
            ToolDefinition::Mcp(_) => None,
        })
        .collect();
    let Some(text) = latest_user_words(conversation) else {
        let heard = match request.committed_audio_ms {
            0 => "your audio".to_owned(),
            ms => format!("{:.1} seconds of audio", ms as f64 / 1000.0),
        };
        return Decision::Say(format!(
            "(simulated model) I received {heard}, but a simulation cannot understand speech. \
             Run agent --sim --text and type, for example, {}.",
            example(&tools)
        ));
    };
    let message = Message::new(&text);
    let Some((tool, triggers)) = words::best_tool(&message, &tools) else {
        return Decision::Say(no_tool_named(&text, &tools));
    };
    match arguments::arguments(&message, &tool.parameters, &triggers) {
        Arguments::Complete(arguments) => Decision::Call {
            name: tool.name.clone(),
            arguments,
        },
        Arguments::Missing { name, description } => {
            let about = description.map(|d| format!(" ({d})")).unwrap_or_default();
            Decision::Say(format!(
                "(simulated model) I would call {}, but I could not find its {name}{about} in \
                 what you said. Say it again with the {name} in quotes.",
                tool.name
            ))
        }
    }
}

/// The words the user said or wrote since the model last spoke: their text messages and the
/// transcripts of their audio, oldest first. `None` when there are none (audio without a
/// transcript).
fn latest_user_words(conversation: &[Item]) -> Option<String> {
    let mut parts = Vec::new();
    for item in conversation.iter().rev() {
        match item {
            Item::Message(message) if message.role == Role::User => {
                let words: Vec<&str> = message
                    .content
                    .iter()
                    .filter_map(|part| part.words())
                    .filter(|w| !w.trim().is_empty())
                    .collect();
                if !words.is_empty() {
                    parts.push(words.join(" "));
                }
            }
            Item::Message(message) if message.role == Role::System => {}
            _ => break,
        }
    }
    parts.reverse();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Says what the tools that just answered returned.
fn describe_outputs(conversation: &[Item]) -> String {
    let outputs: Vec<(&str, &str)> = conversation
        .iter()
        .rev()
        .map_while(|item| match item {
            Item::FunctionCallOutput(output) => {
                Some((output.call_id.as_str(), output.output.as_str()))
            }
            _ => None,
        })
        .collect();
    let sentences: Vec<String> = outputs
        .iter()
        .rev()
        .map(|(call_id, output)| {
            let name = conversation
                .iter()
                .find_map(|item| match item {
                    Item::FunctionCall(call) if call.call_id == *call_id => {
                        Some(call.name.as_str())
                    }
                    _ => None,
                })
                .unwrap_or("the tool");
            describe_output(name, output)
        })
        .collect();
    sentences.join(" ")
}

fn describe_output(tool: &str, output: &str) -> String {
    if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(output) {
        if let (Some(Value::String(_)), Some(Value::String(message))) =
            (fields.get("error"), fields.get("message"))
        {
            return sentence(&format!("That did not work: {message}"));
        }
    }
    match output.trim() {
        "" => format!("{tool} finished and returned nothing."),
        text => sentence(&format!("{tool} says: {text}")),
    }
}

/// `text` ending with a full stop unless it already ends a sentence.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

fn no_tool_named(text: &str, tools: &[&FunctionDefinition]) -> String {
    let quoted: String = text.chars().take(200).collect();
    let mut answer = format!(
        "(simulated model) You said: \"{}\". I am the built-in simulation, not a real model: I \
         call a tool when your words name it.",
        quoted.trim()
    );
    if tools.is_empty() {
        answer.push_str(" This session has no tools.");
    } else {
        let names: Vec<String> = tools
            .iter()
            .map(|t| t.name.replace(['_', '-'], " "))
            .collect();
        answer.push_str(&format!(" Try naming one: {}.", names.join(", ")));
    }
    answer
}

fn example(tools: &[&FunctionDefinition]) -> String {
    match tools.first() {
        Some(tool) => format!("\"{}\"", tool.name.replace(['_', '-'], " ")),
        None => "\"hello\"".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{FunctionCallItem, SessionConfig};
    use serde_json::json;

    fn session() -> SessionConfig {
        SessionConfig {
            tools: Some(vec![ToolDefinition::function(
                "calculate",
                "Evaluates an arithmetic expression.",
                json!({"type":"object","required":["expression"],"properties":{"expression":{"type":"string"}}}),
            )]),
            ..SessionConfig::default()
        }
    }

    fn decide_on(conversation: &[Item]) -> Decision {
        let session = session();
        decide(&ResponseRequest {
            session: &session,
            conversation,
            from_turn_detection: false,
            committed_audio_ms: 1500,
            options: None,
        })
    }

    #[test]
    fn a_named_tool_is_called_and_its_output_said() {
        let mut conversation = vec![Item::user_text("calculate 6 * 7")];
        assert_eq!(
            decide_on(&conversation),
            Decision::Call {
                name: "calculate".into(),
                arguments: json!({"expression": "6 * 7"})
            }
        );
        conversation.push(Item::FunctionCall(FunctionCallItem {
            call_id: "call_1".into(),
            name: "calculate".into(),
            arguments: r#"{"expression":"6 * 7"}"#.into(),
            ..FunctionCallItem::default()
        }));
        conversation.push(Item::function_call_output("call_1", "42\n"));
        assert_eq!(
            decide_on(&conversation),
            Decision::Say("calculate says: 42.".into())
        );
        conversation.pop();
        conversation.push(Item::function_call_output(
            "call_1",
            r#"{"error":"tool_error","message":"calculate failed: division by zero"}"#,
        ));
        assert_eq!(
            decide_on(&conversation),
            Decision::Say("That did not work: calculate failed: division by zero.".into())
        );
    }

    #[test]
    fn other_words_get_an_honest_answer() {
        assert_eq!(
            decide_on(&[Item::user_text("hello")]),
            Decision::Say(
                "(simulated model) You said: \"hello\". I am the built-in simulation, not a real \
                 model: I call a tool when your words name it. Try naming one: calculate."
                    .into()
            )
        );
        let audio = Item::Message(crate::protocol::MessageItem {
            role: Role::User,
            content: vec![crate::protocol::ContentPart {
                kind: crate::protocol::ContentKind::InputAudio,
                ..Default::default()
            }],
            ..Default::default()
        });
        let Decision::Say(text) = decide_on(&[audio]) else {
            panic!("audio without words gets words back");
        };
        assert!(text.contains("1.5 seconds of audio"), "{text}");
    }
}
