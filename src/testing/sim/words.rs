//! Reading a user's message the way the `--sim` model does: its words, and which tool they
//! name. Plain word matching, no language model.

use std::ops::Range;

use crate::protocol::FunctionDefinition;

/// Words in tool names that say nothing about what the tool does.
const GENERIC_NAME_WORDS: &[&str] = &[
    "get", "set", "the", "a", "an", "and", "or", "of", "to", "for", "in", "on", "my", "do", "run",
    "tool", "is", "by",
];

/// Words too common to tell tools apart by their descriptions.
const COMMON_WORDS: &[&str] = &[
    "with",
    "from",
    "that",
    "this",
    "your",
    "about",
    "into",
    "optionally",
    "which",
    "when",
    "their",
    "there",
    "these",
    "those",
    "will",
    "what",
    "given",
    "returns",
    "return",
    "prints",
    "print",
    "tells",
    "user",
    "user's",
    "such",
    "other",
    "another",
    "than",
    "then",
    "them",
    "also",
    "only",
    "each",
    "like",
    "some",
    "have",
    "does",
    "just",
    "more",
    "most",
    "name",
    "names",
];

/// Words trimmed from both ends of a free-text argument ("add a note *that says* buy milk").
pub(super) const FILLER_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "please",
    "can",
    "could",
    "would",
    "will",
    "you",
    "me",
    "my",
    "i",
    "i'd",
    "i'm",
    "like",
    "to",
    "want",
    "for",
    "of",
    "in",
    "at",
    "on",
    "about",
    "that",
    "this",
    "it",
    "it's",
    "is",
    "are",
    "was",
    "what",
    "what's",
    "whats",
    "how",
    "tell",
    "show",
    "give",
    "say",
    "says",
    "saying",
    "with",
    "called",
    "named",
    "and",
    "now",
    "right",
    "hey",
    "ok",
    "okay",
    "just",
    "some",
    "do",
    "does",
    "be",
    "put",
    "write",
    "down",
    "make",
    "current",
    "currently",
    "as",
    "by",
];

/// Characters trimmed from both ends of a free-text argument.
pub(super) const EDGE_PUNCTUATION: &[char] =
    &['.', ',', ';', ':', '!', '?', '"', '\'', '“', '”', '‘', '’'];

/// One word of a message: its place and its lowercase form.
#[derive(Debug, Clone)]
pub(super) struct Word {
    pub(super) span: Range<usize>,
    pub(super) lower: String,
}

/// A user's message, split into words.
#[derive(Debug)]
pub(super) struct Message<'a> {
    pub(super) text: &'a str,
    pub(super) words: Vec<Word>,
}

impl<'a> Message<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let mut words = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            let in_word = c.is_alphanumeric() || c == '\'' || c == '’';
            match (in_word, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    words.push(word(text, s..i));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            words.push(word(text, s..text.len()));
        }
        Message { text, words }
    }
}

fn word(text: &str, span: Range<usize>) -> Word {
    let lower = text[span.clone()]
        .trim_matches(|c| c == '\'' || c == '’')
        .to_lowercase()
        .replace('’', "'");
    Word { span, lower }
}

/// Whether two lowercase words are the same for matching: equal, or one a prefix of the other
/// of at least four letters (`note`/`notes`, `calc`/`calculate`).
fn same_word(a: &str, b: &str) -> bool {
    a == b || (a.len().min(b.len()) >= 4 && (a.starts_with(b) || b.starts_with(a)))
}

/// The meaningful words of a tool name: `get_weather` → `weather`, `addNote` → `add`, `note`.
fn name_words(name: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && previous_lower {
            spaced.push(' ');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        spaced.push(if c == '_' || c == '-' { ' ' } else { c });
    }
    spaced
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| !GENERIC_NAME_WORDS.contains(&w.as_str()))
        .collect()
}

/// The distinctive words of a description.
fn description_words(description: &str) -> Vec<String> {
    let message = Message::new(description);
    let mut out: Vec<String> = Vec::new();
    for w in message.words {
        if w.lower.chars().count() >= 4
            && !COMMON_WORDS.contains(&w.lower.as_str())
            && !out.contains(&w.lower)
        {
            out.push(w.lower);
        }
    }
    out
}

/// The tool a message names, and the spans of the words of its name found in the message.
pub(super) fn best_tool<'t>(
    message: &Message<'_>,
    tools: &[&'t FunctionDefinition],
) -> Option<(&'t FunctionDefinition, Vec<Range<usize>>)> {
    let mut best: Option<(usize, &FunctionDefinition, Vec<Range<usize>>)> = None;
    for tool in tools {
        let mut score = 0;
        let mut triggers = Vec::new();
        for name_word in name_words(&tool.name) {
            if let Some(found) = message
                .words
                .iter()
                .find(|w| same_word(&w.lower, &name_word))
            {
                score += 3;
                triggers.push(found.span.clone());
            }
        }
        for description_word in description_words(&tool.description) {
            if message
                .words
                .iter()
                .any(|w| same_word(&w.lower, &description_word))
            {
                score += 1;
            }
        }
        if score >= 3 && best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, tool, triggers));
        }
    }
    best.map(|(_, tool, triggers)| (tool, triggers))
}

#[cfg(test)]
mod tests {
    use super::super::arguments::{Arguments, arguments};
    use super::*;
    use serde_json::{Value, json};

    fn tool(name: &str, description: &str, parameters: Value) -> FunctionDefinition {
        FunctionDefinition::new(name, description, parameters)
    }

    fn pick(text: &str, tools: &[FunctionDefinition]) -> Option<(String, Arguments)> {
        let message = Message::new(text);
        let refs: Vec<&FunctionDefinition> = tools.iter().collect();
        best_tool(&message, &refs).map(|(tool, triggers)| {
            (
                tool.name.clone(),
                arguments(&message, &tool.parameters, &triggers),
            )
        })
    }

    fn shipped() -> Vec<FunctionDefinition> {
        vec![
            tool(
                "time_and_date",
                "The current date and time, optionally in another time zone.",
                json!({"type":"object","properties":{"timezone":{"type":"string"}}}),
            ),
            tool(
                "calculate",
                "Evaluates an arithmetic expression.",
                json!({"type":"object","required":["expression"],"properties":{"expression":{"type":"string"}}}),
            ),
            tool(
                "add_note",
                "Adds a note to the notes file.",
                json!({"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}),
            ),
            tool(
                "read_notes",
                "Reads the latest notes.",
                json!({"type":"object","properties":{"count":{"type":"integer"}}}),
            ),
            tool(
                "convert",
                "Converts a temperature.",
                json!({"type":"object","required":["value","unit"],"properties":{
                    "value":{"type":"number"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}}}),
            ),
            tool(
                "open_url",
                "Opens a web page in the browser.",
                json!({"type":"object","required":["url"],"properties":{"url":{"type":"string"}}}),
            ),
        ]
    }

    #[test]
    fn tools_are_found_by_name_and_arguments_taken_from_the_words() {
        let tools = shipped();
        assert_eq!(
            pick("What time is it?", &tools),
            Some(("time_and_date".into(), Arguments::Complete(json!({}))))
        );
        assert_eq!(
            pick("calculate 2 + 3 * (4 - 1)", &tools),
            Some((
                "calculate".into(),
                Arguments::Complete(json!({"expression": "2 + 3 * (4 - 1)"}))
            ))
        );
        assert_eq!(
            pick("Please add a note: buy milk and eggs.", &tools),
            Some((
                "add_note".into(),
                Arguments::Complete(json!({"text": "buy milk and eggs"}))
            ))
        );
        assert_eq!(
            pick("read my last 3 notes", &tools),
            Some((
                "read_notes".into(),
                Arguments::Complete(json!({"count": 3}))
            ))
        );
        assert_eq!(
            pick("convert 21.5 to Fahrenheit", &tools),
            Some((
                "convert".into(),
                Arguments::Complete(json!({"value": 21.5, "unit": "fahrenheit"}))
            ))
        );
        assert_eq!(
            pick("open https://example.com/a?b=1, please", &tools),
            Some((
                "open_url".into(),
                Arguments::Complete(json!({"url": "https://example.com/a?b=1"}))
            ))
        );
        assert_eq!(
            pick("add a note \"call Bob\" today", &tools),
            Some((
                "add_note".into(),
                Arguments::Complete(json!({"text": "call Bob"}))
            ))
        );
    }

    #[test]
    fn missing_required_arguments_are_reported_and_unrelated_words_match_nothing() {
        let tools = shipped();
        assert_eq!(
            pick("calculate", &tools),
            Some((
                "calculate".into(),
                Arguments::Missing {
                    name: "expression".into(),
                    description: None
                }
            ))
        );
        assert_eq!(pick("hello there, how are you?", &tools), None);
    }
}
