//! The browser page: `GET /` serves one page built into the binary (plain HTML and JavaScript);
//! `/browser/media` carries PCM16 24 kHz both ways and the conversation's events.
//!
//! Access needs the `token_env` token: given once as `/?token=…`, then kept in an HttpOnly,
//! SameSite=Strict cookie. Without a token configured the page and its socket answer only on
//! loopback.

mod media;
mod sink;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State as Shared};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

pub(crate) use media::media;

use super::access::{self, COOKIE};
use super::metrics::ErrorKind;
use super::state::State;

/// The page, compiled into the binary.
const PAGE: &str = include_str!("page.html");

/// `?token=…` on the page's address, if present.
fn query_token(uri: &Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// `GET /`.
pub(crate) async fn page(
    Shared(state): Shared<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if state.options.browser_token.is_some() {
        if let Some(token) = query_token(&uri) {
            if !access::token_or_loopback(&state, Some(&token), peer) {
                return refused(&state, StatusCode::UNAUTHORIZED);
            }
            // The token leaves the address bar (and history) for a cookie scripts cannot read.
            let secure = state
                .options
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"));
            let cookie = format!(
                "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{}",
                if secure { "; Secure" } else { "" }
            );
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "/".to_owned()),
                ],
            )
                .into_response();
        }
    }
    if !access::token_or_loopback(&state, access::cookie(&headers), peer) {
        let status = if state.options.browser_token.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        return refused(&state, status);
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

fn refused(state: &State, status: StatusCode) -> Response {
    state.error(ErrorKind::SocketRefused);
    let text = if status == StatusCode::UNAUTHORIZED {
        "a token is needed: open /?token=<the value of token_env>\n"
    } else {
        "this page answers only on this machine unless [serve] token_env is set\n"
    };
    (status, text).into_response()
}
