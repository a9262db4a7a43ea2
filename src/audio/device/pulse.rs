//! Getting cpal's pure-Rust PulseAudio client (the `pulseaudio` crate) to a server the way
//! PulseAudio's own clients get there.
//!
//! That client finds the server only from `PULSE_SERVER=unix:PATH` and the runtime directory,
//! and sends the cookie it finds at `$PULSE_COOKIE`, `~/.config/pulse/cookie` or
//! `~/.pulse-cookie`, or an empty one when there is none. A server reads exactly 256 cookie
//! bytes and hangs up on anything shorter, even when it accepts anonymous clients, which the
//! user then sees as `IO error: failed to fill whole buffer`. libpulse instead creates
//! `~/.config/pulse/cookie` with random bytes when no cookie exists, so [`prepare`] does the
//! same before every connection. The client takes its settings from the environment only, and
//! a library must not change the environment of a running process, so writing the file is the
//! one way to hand it a cookie.
//!
//! A `PULSE_SERVER` the client would ignore (a TCP address, a bare path) is reported rather
//! than letting it silently reach the runtime directory's server instead.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The length of a PulseAudio authentication cookie (`PA_NATIVE_COOKIE_LENGTH`).
const COOKIE_LEN: usize = 256;

/// Checks that the server the client will reach is the one the environment names and that a
/// cookie is there for it, creating one as libpulse does. The error says what to fix.
pub(crate) fn prepare() -> Result<(), String> {
    server_socket()?;
    ensure_cookie()
}

/// Where the client will connect, following its own order (`PULSE_SERVER`, then
/// `$PULSE_RUNTIME_PATH/pulse/native`, then `$XDG_RUNTIME_DIR/pulse/native`).
fn server_socket() -> Result<PathBuf, String> {
    if let Some(server) = non_empty_var("PULSE_SERVER") {
        let server = server.to_string_lossy().into_owned();
        let first = server.split_whitespace().next().unwrap_or_default();
        return match first.strip_prefix("unix:") {
            Some(path) if Path::new(path).exists() => Ok(PathBuf::from(path)),
            Some(path) => Err(format!(
                "PULSE_SERVER names the socket {path}, which does not exist (is the server \
                 running?)"
            )),
            None if first.starts_with('/') => Err(format!(
                "PULSE_SERVER={server}: the built-in PulseAudio client takes a local socket \
                 written as unix:{first}"
            )),
            None => Err(format!(
                "PULSE_SERVER={server}: the built-in PulseAudio client reaches only local \
                 sockets (unix:PATH); use host = \"alsa\", whose pulse plugin reaches any server"
            )),
        };
    }
    for (var, relative) in [
        ("PULSE_RUNTIME_PATH", "pulse/native"),
        ("XDG_RUNTIME_DIR", "pulse/native"),
    ] {
        if let Some(dir) = non_empty_var(var) {
            let socket = PathBuf::from(dir).join(relative);
            return if socket.exists() {
                Ok(socket)
            } else {
                Err(format!(
                    "no server socket at {} (set PULSE_SERVER=unix:PATH to reach another one)",
                    socket.display()
                ))
            };
        }
    }
    Err("neither PULSE_SERVER nor XDG_RUNTIME_DIR is set, so there is no server to reach".into())
}

/// Makes sure the client finds a cookie of the right length: the one `PULSE_COOKIE` or the
/// home directory holds, else a new random one in `~/.config/pulse/cookie` (mode 0600).
fn ensure_cookie() -> Result<(), String> {
    if let Some(path) = non_empty_var("PULSE_COOKIE").map(PathBuf::from)
        && path.exists()
    {
        return check_cookie(&path);
    }
    let Some(home) = non_empty_var("HOME").map(PathBuf::from) else {
        return Err(
            "HOME is not set, so there is no cookie to authenticate with: set PULSE_COOKIE to \
             a file of 256 bytes"
                .into(),
        );
    };
    let config_cookie = home.join(".config/pulse/cookie");
    for path in [&config_cookie, &home.join(".pulse-cookie")] {
        if path.exists() {
            return check_cookie(path);
        }
    }
    create_cookie(&config_cookie).map_err(|e| {
        format!(
            "no cookie to authenticate with, and creating {} failed: {e}; set PULSE_COOKIE to a \
             file of 256 bytes",
            config_cookie.display()
        )
    })
}

/// A cookie the client would send must be 256 readable bytes, or the server hangs up.
fn check_cookie(path: &Path) -> Result<(), String> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() == COOKIE_LEN => Ok(()),
        Ok(bytes) => Err(format!(
            "the cookie {} holds {} bytes, not {COOKIE_LEN}: remove it (a new one is made) or \
             set PULSE_COOKIE to a valid one",
            path.display(),
            bytes.len()
        )),
        Err(e) => Err(format!("cannot read the cookie {}: {e}", path.display())),
    }
}

/// Writes a new random cookie at `path`, readable by the user only. It is written under
/// another name and linked into place, so a client never reads a half-written cookie; when
/// another client made one first, that one is as good.
fn create_cookie(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut cookie = [0u8; COOKIE_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut cookie)?;
    let partial = dir.join(format!(
        ".cookie.{}.{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .and_then(|mut file| file.write_all(&cookie));
    let linked = written.and_then(|()| std::fs::hard_link(&partial, path));
    let _ = std::fs::remove_file(&partial);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a PulseAudio cookie");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn non_empty_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}
