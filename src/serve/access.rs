//! Who may use the browser page and `/metrics`: the holder of the `token_env` token, or, when
//! none is configured, only this machine.

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use super::state::State;

/// The cookie that keeps the browser token after its first use.
pub(crate) const COOKIE: &str = "agent_token";

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    #[allow(deprecated)]
    ring::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Whether the request comes from this machine.
pub(crate) fn is_loopback(peer: SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The token from `Authorization: Bearer …`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The token from the access cookie, if any.
pub(crate) fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// Whether `presented` is the configured token; without one configured, whether the peer is
/// on loopback.
pub(crate) fn token_or_loopback(state: &State, presented: Option<&str>, peer: SocketAddr) -> bool {
    match &state.options.browser_token {
        Some(token) => presented.is_some_and(|p| same_secret(p.as_bytes(), token.expose())),
        None => is_loopback(peer),
    }
}

/// For `/metrics`: a bearer (or cookie) token, or loopback when no token is configured.
pub(crate) fn bearer_or_loopback(state: &State, headers: &HeaderMap, peer: SocketAddr) -> bool {
    let presented = bearer(headers).or_else(|| cookie(headers));
    token_or_loopback(state, presented, peer)
        || (state.options.browser_token.is_none() && is_loopback(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_loopback_are_read_exactly() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; agent_token=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&headers), Some("xyz"));
        assert!(is_loopback("127.0.0.1:1".parse().unwrap()));
        assert!(is_loopback("[::ffff:127.0.0.1]:1".parse().unwrap()));
        assert!(!is_loopback("10.0.0.1:1".parse().unwrap()));
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
