//! Exit codes, one per kind of failure a user can act on, and the error the modes return.

use crate::audio::AudioError;
use crate::config::ConfigError;
use crate::token::TokenError;
use crate::transport::ConnectError;

/// How the `agent` command ended. Each failure kind has its own code, so that scripts can tell
/// a missing key from a missing microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitCode {
    /// 0: the session or command finished normally (Ctrl-C included).
    Success,
    /// 1: the session failed for another reason.
    Failure,
    /// 2: the command line is invalid.
    Usage,
    /// 3: the configuration is invalid (`agent.toml`, `--url`, a tool).
    Config,
    /// 4: no API key in the environment.
    MissingKey,
    /// 5: no usable audio device.
    AudioDevice,
    /// 6: a file cannot be read or written (WAV input or output, `--record`).
    File,
    /// 7: the server refused the API key (HTTP 401 or 403).
    Unauthorized,
    /// 8: the model or URL does not exist (HTTP 404).
    NotFound,
    /// 9: rate limited or out of quota (HTTP 429).
    RateLimited,
    /// 10: the server cannot be reached (DNS, refused, TLS, timeout, another HTTP status).
    Network,
    /// 11: the connection was lost during the session and could not be restored.
    ConnectionLost,
    /// 12: `agent token` could not mint a key.
    Token,
    /// 130: a second Ctrl-C quit without waiting for the session to end (the shell's
    /// convention for SIGINT).
    Interrupted,
}

impl ExitCode {
    /// Every code, in order (for the help text).
    pub const ALL: [ExitCode; 14] = [
        ExitCode::Success,
        ExitCode::Failure,
        ExitCode::Usage,
        ExitCode::Config,
        ExitCode::MissingKey,
        ExitCode::AudioDevice,
        ExitCode::File,
        ExitCode::Unauthorized,
        ExitCode::NotFound,
        ExitCode::RateLimited,
        ExitCode::Network,
        ExitCode::ConnectionLost,
        ExitCode::Token,
        ExitCode::Interrupted,
    ];

    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::Config => 3,
            ExitCode::MissingKey => 4,
            ExitCode::AudioDevice => 5,
            ExitCode::File => 6,
            ExitCode::Unauthorized => 7,
            ExitCode::NotFound => 8,
            ExitCode::RateLimited => 9,
            ExitCode::Network => 10,
            ExitCode::ConnectionLost => 11,
            ExitCode::Token => 12,
            ExitCode::Interrupted => 130,
        }
    }

    /// What the code means, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            ExitCode::Success => "success (Ctrl-C included)",
            ExitCode::Failure => "the session failed for another reason",
            ExitCode::Usage => "invalid command line",
            ExitCode::Config => "invalid configuration (agent.toml, --url, a tool)",
            ExitCode::MissingKey => "no API key (set OPENAI_API_KEY, or try --sim)",
            ExitCode::AudioDevice => "no usable audio device (use --text or --input)",
            ExitCode::File => "a file cannot be read or written (WAV, --record)",
            ExitCode::Unauthorized => "the server refused the API key (HTTP 401/403)",
            ExitCode::NotFound => "model or URL not found (HTTP 404)",
            ExitCode::RateLimited => "rate limited or out of quota (HTTP 429)",
            ExitCode::Network => "cannot reach the server (DNS, refused, TLS, timeout, HTTP)",
            ExitCode::ConnectionLost => "the connection was lost and could not be restored",
            ExitCode::Token => "`agent token` could not mint a key",
            ExitCode::Interrupted => "interrupted twice: quit before the session ended",
        }
    }

    /// The table printed at the end of `agent --help`.
    pub fn help_table() -> String {
        let mut text = String::from("Exit codes:\n");
        for code in ExitCode::ALL {
            text.push_str(&format!("  {:>2}  {}\n", code.code(), code.describe()));
        }
        text
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// Why a command failed: what to tell the user, and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: ExitCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::new(ExitCode::Config, error.render())
    }
}

impl From<AudioError> for Failure {
    fn from(error: AudioError) -> Self {
        let code = audio_code(&error);
        let mut message = error.to_string();
        if code == ExitCode::AudioDevice && !message.contains("--text") {
            message.push_str(
                ". Without audio devices, use `--text` for a text-only session, or \
                 `--input FILE.wav` to send a recording",
            );
        }
        Failure::new(code, message)
    }
}

impl From<ConnectError> for Failure {
    fn from(error: ConnectError) -> Self {
        Failure::new(connect_code(&error), format!("cannot connect: {error}"))
    }
}

impl From<TokenError> for Failure {
    fn from(error: TokenError) -> Self {
        let code = match &error {
            TokenError::Http {
                status: 401 | 403, ..
            } => ExitCode::Unauthorized,
            TokenError::Http { status: 429, .. } => ExitCode::RateLimited,
            TokenError::Network { .. } => ExitCode::Network,
            _ => ExitCode::Token,
        };
        Failure::new(code, format!("cannot mint a client secret: {error}"))
    }
}

impl From<crate::Error> for Failure {
    fn from(error: crate::Error) -> Self {
        match error {
            crate::Error::Audio(error) => error.into(),
            crate::Error::Connect(error) => error.into(),
            crate::Error::ToolRegistry(_)
            | crate::Error::ToolSpec(_)
            | crate::Error::Handoff(_)
            | crate::Error::HostedMcp(_)
            | crate::Error::Mcp(_) => Failure::new(ExitCode::Config, error.to_string()),
            crate::Error::MissingApiKey { .. } => {
                Failure::new(ExitCode::MissingKey, error.to_string())
            }
            crate::Error::Disconnected(_) | crate::Error::ReconnectFailed { .. } => {
                Failure::new(ExitCode::ConnectionLost, error.to_string())
            }
        }
    }
}

fn audio_code(error: &AudioError) -> ExitCode {
    match error {
        AudioError::DeviceMissing { .. }
        | AudioError::HostUnavailable { .. }
        | AudioError::DeviceBusy { .. }
        | AudioError::UnsupportedDevice { .. }
        | AudioError::Stream { .. } => ExitCode::AudioDevice,
        AudioError::UnsupportedWav { .. }
        | AudioError::InvalidWav { .. }
        | AudioError::Io { .. } => ExitCode::File,
        _ => ExitCode::Failure,
    }
}

fn connect_code(error: &ConnectError) -> ExitCode {
    match error {
        ConnectError::InvalidUrl { .. } => ExitCode::Config,
        ConnectError::Unauthorized { .. } => ExitCode::Unauthorized,
        ConnectError::NotFound { .. } => ExitCode::NotFound,
        ConnectError::RateLimited { .. } => ExitCode::RateLimited,
        _ => ExitCode::Network,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        codes.dedup();
        let mut expected: Vec<u8> = (0..=12).collect();
        expected.push(130);
        assert_eq!(codes, expected);
    }
}
