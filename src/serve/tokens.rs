//! One-time tokens: minted by a verified webhook, redeemed once by the socket that follows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// How long a minted token may wait for its socket.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(60);

/// Unguessable single-use tokens, each bound to what it was minted for (a call id).
pub(crate) struct OneTimeTokens {
    rng: SystemRandom,
    live: Mutex<HashMap<String, (Instant, String)>>,
}

impl Default for OneTimeTokens {
    fn default() -> Self {
        OneTimeTokens {
            rng: SystemRandom::new(),
            live: Mutex::new(HashMap::new()),
        }
    }
}

impl OneTimeTokens {
    /// A fresh token for `subject`, valid for [`TOKEN_TTL`].
    pub(crate) fn mint(&self, subject: &str) -> String {
        let token = random_token(&self.rng);
        let now = Instant::now();
        let mut live = self.live.lock().expect("token lock");
        live.retain(|_, (expires, _)| *expires > now);
        live.insert(token.clone(), (now + TOKEN_TTL, subject.to_owned()));
        token
    }

    /// Uses up `token`: its subject if it was minted, unused and unexpired; `None` otherwise.
    pub(crate) fn redeem(&self, token: &str) -> Option<String> {
        let (expires, subject) = self.live.lock().expect("token lock").remove(token)?;
        (expires > Instant::now()).then_some(subject)
    }
}

/// 32 random bytes from the operating system, base64url without padding.
pub(crate) fn random_token(rng: &SystemRandom) -> String {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes)
        .expect("the operating system's random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_once_and_only_as_minted() {
        let tokens = OneTimeTokens::default();
        let token = tokens.mint("CA1");
        assert_eq!(token.len(), 43);
        assert_ne!(token, tokens.mint("CA1"));
        assert_eq!(tokens.redeem("forged"), None);
        assert_eq!(tokens.redeem(&token).as_deref(), Some("CA1"));
        assert_eq!(tokens.redeem(&token), None);
    }
}
