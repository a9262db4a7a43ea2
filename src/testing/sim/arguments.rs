//! Taking a tool's arguments from the user's words, guided by the tool's JSON Schema.

use std::ops::Range;

use serde_json::{Map, Value};

use super::words::{EDGE_PUNCTUATION, FILLER_WORDS, Message};

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
        if let Some(close) = closing
            && let Some(j) = (i + 1..chars.len()).find(|&j| chars[j].1 == close)
        {
            let end = chars[j].0 + close.len_utf8();
            let inner = text[at + c.len_utf8()..chars[j].0].to_owned();
            if !inner.is_empty() {
                quoted.push((at..end, inner));
            }
            i = j + 1;
            continue;
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
