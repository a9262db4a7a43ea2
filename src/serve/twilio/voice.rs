//! `POST /twilio/voice`: the call webhook. Verified, then answered with TwiML that connects the
//! call to `/twilio/media` carrying a one-time token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::signature;
use crate::serve::metrics::ErrorKind;
use crate::serve::state::State;

/// The answer when the server is full or draining: Twilio plays a busy signal.
pub(crate) const REJECT_TWIML: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Reject reason=\"busy\"/></Response>";

fn twiml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn forbidden(state: &State, why: &str) -> Response {
    state.error(ErrorKind::WebhookRefused);
    tracing::warn!(why, "twilio webhook refused");
    (StatusCode::FORBIDDEN, "forbidden\n").into_response()
}

/// Escapes text for an XML attribute.
fn xml_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `POST /twilio/voice`.
pub(crate) async fn voice(
    Shared(state): Shared<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let options = &state.options;
    let (Some(auth_token), Some(public_url)) = (&options.twilio_auth_token, &options.public_url)
    else {
        return forbidden(
            &state,
            "twilio_auth_token_env and public_url must be set to take Twilio calls",
        );
    };
    let Some(presented) = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return forbidden(&state, "no X-Twilio-Signature");
    };
    // The URL Twilio requested, as the public address names it (a proxy may hide it from us).
    let path_and_query = uri.path_and_query().map_or("/twilio/voice", |p| p.as_str());
    let url = format!("{public_url}{path_and_query}");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !signature::verify(auth_token.expose(), &url, &params, presented) {
        return forbidden(&state, "the X-Twilio-Signature does not match");
    }
    let call_sid = params
        .iter()
        .find(|(k, _)| k == "CallSid")
        .map_or("", |(_, v)| v.as_str());
    if !state.slots.has_room() {
        state.error(ErrorKind::AtCapacity);
        tracing::warn!(
            call_id = call_sid,
            "call rejected: at max_sessions or draining"
        );
        return twiml(REJECT_TWIML.to_owned());
    }
    let token = state.tokens.mint(call_sid);
    let stream_url = media_url(public_url);
    tracing::info!(
        call_id = call_sid,
        "call answered; waiting for its media stream"
    );
    twiml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><Stream url=\"{}\">\
         <Parameter name=\"token\" value=\"{}\"/></Stream></Connect></Response>",
        xml_attr(&stream_url),
        xml_attr(&token)
    ))
}

/// `wss://HOST/twilio/media` for `https://HOST` (`ws://` for `http://`).
fn media_url(public_url: &str) -> String {
    let rest = public_url
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| {
            public_url
                .strip_prefix("http://")
                .map(|r| format!("ws://{r}"))
        })
        .unwrap_or_else(|| public_url.to_owned());
    format!("{rest}/twilio/media")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stream_url_follows_the_public_url() {
        assert_eq!(
            super::media_url("https://a.example/base"),
            "wss://a.example/base/twilio/media"
        );
        assert_eq!(
            super::media_url("http://127.0.0.1:9"),
            "ws://127.0.0.1:9/twilio/media"
        );
    }
}
