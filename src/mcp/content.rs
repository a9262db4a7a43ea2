//! A `tools/call` result as the text of a `function_call_output`: text as it is, structured
//! content as JSON, everything else described in words rather than dropped.

use serde_json::Value;

/// The output of a call: `Ok(text)` for a result, `Err(text)` when the server set `isError`.
pub(crate) fn render(result: &rmcp::model::CallToolResult) -> Result<String, String> {
    let text = match &result.structured_content {
        // The spec asks servers to repeat structured content as text; the JSON is the exact form.
        Some(structured) => structured.to_string(),
        None => result
            .content
            .iter()
            .map(|block| describe(&serde_json::to_value(block).unwrap_or(Value::Null)))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if result.is_error == Some(true) {
        let text = if text.trim().is_empty() {
            "the server reported an error without saying why".to_owned()
        } else {
            text
        };
        return Err(text);
    }
    Ok(text)
}

/// One content block (as JSON, which is stable across SDK versions) in words.
pub(crate) fn describe(block: &Value) -> String {
    let field = |name: &str| block.get(name).and_then(Value::as_str);
    let size = |name: &str| field(name).map_or(0, |data| data.len() / 4 * 3);
    match field("type") {
        Some("text") => field("text").unwrap_or_default().to_owned(),
        Some("image") => format!(
            "[an image ({}, about {} bytes) that cannot be shown here]",
            field("mimeType").unwrap_or("unknown type"),
            size("data")
        ),
        Some("audio") => format!(
            "[an audio clip ({}, about {} bytes) that cannot be played here]",
            field("mimeType").unwrap_or("unknown type"),
            size("data")
        ),
        Some("resource_link") => {
            let mut text = format!("[a link to the resource {}", field("uri").unwrap_or("?"));
            if let Some(name) = field("name") {
                text.push_str(&format!(" ({name})"));
            }
            if let Some(description) = field("description") {
                text.push_str(&format!(": {description}"));
            }
            text.push(']');
            text
        }
        Some("resource") => {
            let resource = block.get("resource").cloned().unwrap_or(Value::Null);
            let get = |name: &str| resource.get(name).and_then(Value::as_str);
            let uri = get("uri").unwrap_or("?");
            match (get("text"), get("blob")) {
                (Some(text), _) => format!("[the resource {uri}:]\n{text}"),
                (None, Some(blob)) => format!(
                    "[the resource {uri} ({}, about {} bytes) that cannot be shown here]",
                    get("mimeType").unwrap_or("binary"),
                    blob.len() / 4 * 3
                ),
                (None, None) => format!("[the resource {uri}]"),
            }
        }
        Some(other) => format!("[content of type {other:?} that cannot be shown here]"),
        None => "[content the server did not label]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_of_block_says_what_it_is() {
        assert_eq!(describe(&json!({"type":"text","text":"hi"})), "hi");
        assert_eq!(
            describe(&json!({"type":"image","mimeType":"image/png","data":"AAAAAAAA"})),
            "[an image (image/png, about 6 bytes) that cannot be shown here]"
        );
        assert_eq!(
            describe(&json!({"type":"audio","mimeType":"audio/wav","data":"AAAA"})),
            "[an audio clip (audio/wav, about 3 bytes) that cannot be played here]"
        );
        assert_eq!(
            describe(&json!({"type":"resource_link","uri":"file:///a.txt","name":"a.txt"})),
            "[a link to the resource file:///a.txt (a.txt)]"
        );
        assert_eq!(
            describe(&json!({"type":"resource","resource":{"uri":"test://1","text":"body"}})),
            "[the resource test://1:]\nbody"
        );
        assert_eq!(
            describe(
                &json!({"type":"resource","resource":{"uri":"test://2","mimeType":"application/pdf","blob":"AAAA"}})
            ),
            "[the resource test://2 (application/pdf, about 3 bytes) that cannot be shown here]"
        );
    }
}
