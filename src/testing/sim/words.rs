//! Reading a user's message the way the `--sim` model does: which tool it names, and which
//! arguments it holds. Plain word matching, no language model.

use std::ops::Range;

use serde_json::{Map, Value};

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
const FILLER_WORDS: &[&str] = &[
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
const EDGE_PUNCTUATION: &[char] = &['.', ',', ';', ':', '!', '?', '"', '\'', '“', '”', '‘', '’'];

/// One word of a message: its place and its lowercase form.
#[derive(Debug, Clone)]
struct Word {
    span: Range<usize>,
    lower: String,
}

/// A user's message, split into words.
#[derive(Debug)]
pub(super) struct Message<'a> {
    text: &'a str,
    words: Vec<Word>,
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

/// What the sim could make of a tool's arguments.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Arguments {
    /// Every required argument was found.
    Complete(Value),
    /// A required argument is not in the message.
    Missing {
        /// The parameter.
        name: String,
        /// Its description, if any.
        description: Option<String>,
    },
}

/// Pieces of the message that can fill arguments.
struct Pieces {
    quoted: Vec<(Range<usize>, String)>,
    numbers: Vec<(Range<usize>, f64)>,
    urls: Vec<(Range<usize>, String)>,
}

fn pieces(text: &str) -> Pieces {
    let mut quoted = Vec::new();
    let mut numbers = Vec::new();
    let mut urls = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let closing = match c {
            '"' => Some('"'),
            '“' => Some('”'),
            '\'' if i == 0 || chars[i - 1].1.is_whitespace() => Some('\''),
            _ => None,
        };
        if let Some(close) = closing {
            if let Some(j) = (i + 1..chars.len()).find(|&j| chars[j].1 == close) {
                let end = chars[j].0 + close.len_utf8();
                let inner = text[at + c.len_utf8()..chars[j].0].to_owned();
                if !inner.is_empty() {
                    quoted.push((at..end, inner));
                }
                i = j + 1;
                continue;
            }
        }
        if text[at..].starts_with("http://") || text[at..].starts_with("https://") {
            let end = text[at..]
                .find(char::is_whitespace)
                .map_or(text.len(), |n| at + n);
            let url = text[at..end].trim_end_matches(EDGE_PUNCTUATION);
            urls.push((at..at + url.len(), url.to_owned()));
            i = chars.partition_point(|(p, _)| *p < end);
            continue;
        }
        let starts_number = c.is_ascii_digit()
            || (c == '-'
                && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())
                && (i == 0 || chars[i - 1].1.is_whitespace()));
        let inside_word = i > 0 && chars[i - 1].1.is_alphanumeric();
        if starts_number && !inside_word {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].1.is_ascii_digit()
                    || (chars[j].1 == '.'
                        && chars.get(j + 1).is_some_and(|(_, d)| d.is_ascii_digit())))
            {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |(p, _)| *p);
            if let Ok(value) = text[at..end].parse::<f64>() {
                numbers.push((at..end, value));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    Pieces {
        quoted,
        numbers,
        urls,
    }
}

/// The schema's type for a property (the first non-null one when several are allowed).
fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

/// Takes arguments for `parameters` (a JSON Schema object) from the message: enum values named
/// in it, numbers in order, quoted strings in order, a URL for a URL-like parameter, and, for
/// the one remaining string parameter, the words left once the tool's name is taken out.
pub(super) fn arguments(
    message: &Message<'_>,
    parameters: &Value,
    triggers: &[Range<usize>],
) -> Arguments {
    let empty = Map::new();
    let properties = parameters
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = parameters
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut pieces = pieces(message.text);
    let mut used: Vec<Range<usize>> = triggers.to_vec();
    let mut out = Map::new();
    let mut free_strings: Vec<&str> = Vec::new();
    for (name, schema) in properties {
        let value = if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            enum_value(message, options, &mut used)
        } else {
            match type_of(schema) {
                Some("integer") => take_number(&mut pieces.numbers, &mut used, true),
                Some("number") => take_number(&mut pieces.numbers, &mut used, false),
                Some("boolean") => boolean(message),
                Some("string") => {
                    let url_like = ["url", "link", "uri", "address"]
                        .iter()
                        .any(|w| name.to_lowercase().contains(w));
                    let taken = if url_like && !pieces.urls.is_empty() {
                        Some(pieces.urls.remove(0))
                    } else if !pieces.quoted.is_empty() {
                        Some(pieces.quoted.remove(0))
                    } else {
                        None
                    };
                    match taken {
                        Some((span, text)) => {
                            used.push(span);
                            Some(Value::String(text))
                        }
                        None => {
                            free_strings.push(name);
                            None
                        }
                    }
                }
                _ => None,
            }
        };
        if let Some(value) = value {
            out.insert(name.clone(), value);
        }
    }
    let required_free: Vec<&str> = free_strings
        .iter()
        .copied()
        .filter(|n| required.contains(n))
        .collect();
    let target = match (free_strings.as_slice(), required_free.as_slice()) {
        ([only], _) => Some(*only),
        (_, [only]) => Some(*only),
        _ => None,
    };
    if let Some(name) = target {
        let rest = remaining_text(message.text, &used);
        if !rest.is_empty() {
            out.insert(name.to_owned(), Value::String(rest));
        }
    }
    for name in required {
        if out.contains_key(name) {
            continue;
        }
        let schema = properties.get(name);
        match schema.and_then(|s| s.get("default")) {
            Some(default) => {
                out.insert(name.to_owned(), default.clone());
            }
            None => {
                return Arguments::Missing {
                    name: name.to_owned(),
                    description: schema
                        .and_then(|s| s.get("description"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                };
            }
        }
    }
    Arguments::Complete(Value::Object(out))
}

fn enum_value(
    message: &Message<'_>,
    options: &[Value],
    used: &mut Vec<Range<usize>>,
) -> Option<Value> {
    let lower = message.text.to_lowercase();
    for option in options {
        let Some(text) = option.as_str() else {
            continue;
        };
        let wanted = text.to_lowercase();
        // Whole words only: `c` must not match inside `cat`.
        let found = lower.match_indices(&wanted).find(|(at, _)| {
            let before = lower[..*at].chars().next_back();
            let after = lower[at + wanted.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        });
        if let Some((at, _)) = found {
            // Lowercasing keeps byte offsets for the ASCII enum values tools use; for others the
            // span is only used to trim free text, so an approximate one does no harm.
            used.push(at..at + wanted.len());
            return Some(option.clone());
        }
    }
    None
}

fn take_number(
    numbers: &mut Vec<(Range<usize>, f64)>,
    used: &mut Vec<Range<usize>>,
    integer: bool,
) -> Option<Value> {
    let position = numbers
        .iter()
        .position(|(_, n)| !integer || n.fract() == 0.0)?;
    let (span, number) = numbers.remove(position);
    used.push(span);
    if integer {
        Some(Value::from(number as i64))
    } else {
        serde_json::Number::from_f64(number).map(Value::Number)
    }
}

fn boolean(message: &Message<'_>) -> Option<Value> {
    message.words.iter().find_map(|w| match w.lower.as_str() {
        "true" | "yes" | "on" | "enable" | "enabled" => Some(Value::Bool(true)),
        "false" | "no" | "off" | "disable" | "disabled" => Some(Value::Bool(false)),
        _ => None,
    })
}

/// The message without the `used` spans, with filler words and punctuation trimmed from both
/// ends.
fn remaining_text(text: &str, used: &[Range<usize>]) -> String {
    let mut kept = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if used.iter().any(|span| span.contains(&i)) {
            kept.push(' ');
        } else {
            kept.push(c);
        }
    }
    let mut tokens: Vec<&str> = kept.split_whitespace().collect();
    let is_filler = |token: &str| {
        let bare = token
            .trim_matches(EDGE_PUNCTUATION)
            .to_lowercase()
            .replace('’', "'");
        bare.is_empty() || FILLER_WORDS.contains(&bare.as_str())
    };
    while tokens.first().is_some_and(|t| is_filler(t)) {
        tokens.remove(0);
    }
    while tokens.last().is_some_and(|t| is_filler(t)) {
        tokens.pop();
    }
    tokens
        .join(" ")
        .trim_matches(EDGE_PUNCTUATION)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
