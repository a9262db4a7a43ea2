//! `{param}` templates: the argv elements of a command tool and the URL of an HTTP tool.
//!
//! `{name}` is replaced by the argument `name`: a string as it is, any other value as its JSON
//! text. `{{` and `}}` stand for literal braces.

use std::borrow::Cow;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Placeholder(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `text`; the error says what is wrong, for a [`SpecError`](super::SpecError).
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((position, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[position + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "unclosed `{{` at byte {position} (write `{{{{` for a literal brace)"
                        ));
                    };
                    let name = &rest[..end];
                    if name.is_empty() || name.contains('{') {
                        return Err(format!(
                            "`{{` at byte {position} does not start a `{{name}}` placeholder \
                             (write `{{{{` for a literal brace)"
                        ));
                    }
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Placeholder(name.to_owned()));
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "unmatched `}}` at byte {position} (write `}}}}` for a literal brace)"
                    ));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() || segments.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template { segments })
    }

    /// The parameter names the template uses, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Placeholder(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The literal text before the first placeholder (all of it when there is none).
    pub fn literal_prefix(&self) -> String {
        self.segments
            .iter()
            .map_while(|segment| match segment {
                Segment::Literal(text) => Some(text.as_str()),
                Segment::Placeholder(_) => None,
            })
            .collect()
    }

    /// Fills the placeholders from `arguments`, passing each value's text through `encode`.
    /// `None` when a placeholder's argument is absent (or `null`).
    pub fn render(
        &self,
        arguments: &Map<String, Value>,
        encode: impl Fn(&str) -> Cow<'_, str>,
    ) -> Option<String> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Placeholder(name) => {
                    let text = value_text(arguments.get(name))?;
                    out.push_str(&encode(&text));
                }
            }
        }
        Some(out)
    }

    /// Like [`render`](Template::render), with an absent argument rendered as nothing.
    pub fn render_or_empty(
        &self,
        arguments: &Map<String, Value>,
        encode: impl Fn(&str) -> Cow<'_, str>,
    ) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Placeholder(name) => {
                    if let Some(text) = value_text(arguments.get(name)) {
                        out.push_str(&encode(&text));
                    }
                }
            }
        }
        out
    }
}

/// The `encode` of a template whose values go in as they are (argv elements).
pub(crate) fn verbatim(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}

/// A string as it is, absent or `null` as `None`, anything else as its JSON text.
fn value_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    /// Escaped braces, placeholders and literals render in order; non-strings as JSON.
    #[test]
    fn renders_placeholders_and_escapes() {
        let template = Template::parse("{{x}} --n={n} {name}!").unwrap();
        let rendered = template.render(&args(json!({"n": 3, "name": "a b"})), verbatim);
        assert_eq!(rendered.as_deref(), Some("{x} --n=3 a b!"));
        assert_eq!(template.placeholders().collect::<Vec<_>>(), ["n", "name"]);
        assert_eq!(template.literal_prefix(), "{x} --n=");
    }

    /// An absent or null argument makes the whole rendering absent.
    #[test]
    fn absent_argument_renders_nothing() {
        let template = Template::parse("--city={city}").unwrap();
        assert_eq!(template.render(&args(json!({})), verbatim), None);
        assert_eq!(
            template.render(&args(json!({"city": null})), verbatim),
            None
        );
    }

    /// Broken braces are refused with their position.
    #[test]
    fn refuses_broken_braces() {
        assert_eq!(
            Template::parse("a{b").unwrap_err(),
            "unclosed `{` at byte 1 (write `{{` for a literal brace)"
        );
        assert_eq!(
            Template::parse("a}b").unwrap_err(),
            "unmatched `}` at byte 1 (write `}}` for a literal brace)"
        );
        assert_eq!(
            Template::parse("{}").unwrap_err(),
            "`{` at byte 0 does not start a `{name}` placeholder (write `{{` for a literal brace)"
        );
    }

    /// A template with no placeholder is one literal, even when empty.
    #[test]
    fn plain_text_is_one_literal() {
        let template = Template::parse("").unwrap();
        assert_eq!(template.render(&Map::new(), verbatim).as_deref(), Some(""));
    }
}
