//! Running one test body in a child process with its own environment.
//!
//! The sound systems read their configuration from the environment (`ALSA_CONFIG_PATH`,
//! `PULSE_SERVER`, `HOME`) and ALSA caches it per process, and changing the environment of a
//! running multi-threaded test binary is unsound. So a test that needs its own sound system
//! runs this test binary again, filtered to itself, with the environment it needs; the child
//! knows it is the child by [`CHILD_VAR`].

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child; holds the directory the parent prepared.
pub const CHILD_VAR: &str = "REALTIME_AGENT_AUDIO_TEST_DIR";

/// The directory the parent prepared, when running as the child.
pub fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_VAR).map(PathBuf::from)
}

/// Runs the test `name` (its path in this binary, e.g. `alsa_file::microphone`) in a child
/// process with `dir` as its directory, `HOME` and `XDG_*` directories (so no PulseAudio cookie
/// unless the test makes one), no sound server in the environment, and `env` on top. Returns
/// the child's output; panics with it if it failed.
pub fn run_child(name: &str, dir: &Path, env: &[(&str, OsString)]) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut command = Command::new(exe);
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, dir)
        .env("HOME", dir)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_DATA_HOME", dir.join(".local/share"))
        .env("XDG_STATE_HOME", dir.join(".local/state"))
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env_remove("PULSE_SERVER")
        .env_remove("PULSE_COOKIE")
        .env_remove("PULSE_RUNTIME_PATH")
        .env_remove("ALSA_CONFIG_PATH")
        .stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "child test {name} failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "child test {name} did not run exactly one test:\n{text}"
    );
    text
}

/// A private PulseAudio server with two null devices, `speaker` (the default sink) and `mic`
/// (whose monitor is the default source): real-time paced, no sound card needed. The same
/// setup as `../shared/audio-sandbox.sh`, run in the foreground and stopped on drop.
pub struct PulseSandbox {
    pub dir: tempfile::TempDir,
    daemon: Child,
}

impl PulseSandbox {
    pub fn start() -> PulseSandbox {
        for tool in ["pulseaudio", "pactl", "paplay", "parec"] {
            let found = Command::new(tool).arg("--version").output().is_ok();
            assert!(
                found,
                "{tool} is needed: apt-get install pulseaudio pulseaudio-utils libasound2-plugins"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        // The server and the clients started here (`pactl`, `paplay`) have a home of their own,
        // where they keep their cookie: the test in the child finds none in its home.
        let runtime = dir.path().join("daemon/runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        let socket = dir.path().join("native");
        let daemon = Command::new("pulseaudio")
            .arg("-n")
            .arg("--daemonize=no")
            .arg("--exit-idle-time=-1")
            // Anonymous clients are accepted, as on a desktop where every client of the user
            // is: the test's home has no cookie, and the built-in client sends no credentials.
            .arg(format!(
                "--load=module-native-protocol-unix auth-anonymous=1 socket={}",
                socket.display()
            ))
            .arg("--load=module-null-sink sink_name=speaker rate=48000 channels=2 norewinds=1")
            .arg("--load=module-null-sink sink_name=mic rate=48000 channels=2")
            .arg(format!(
                "--log-target=file:{}",
                dir.path().join("pulse.log").display()
            ))
            .env("HOME", dir.path().join("daemon"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pulseaudio");
        // For tests that stop the server for a while, as a busy machine does.
        std::fs::write(dir.path().join("daemon.pid"), daemon.id().to_string()).unwrap();
        let sandbox = PulseSandbox { dir, daemon };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "pulseaudio did not start: {}",
                sandbox.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for args in [
            ["set-default-sink", "speaker"],
            ["set-default-source", "mic.monitor"],
        ] {
            let ok = sandbox
                .command("pactl")
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "pactl {args:?} failed: {}", sandbox.log());
        }
        sandbox
    }

    /// The environment a client needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut server = OsString::from("unix:");
        server.push(self.dir.path().join("native"));
        vec![("PULSE_SERVER", server)]
    }

    /// A command (`pactl`, `paplay`, `parec`) talking to this server.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("HOME", self.dir.path().join("daemon"))
            .env_remove("XDG_CONFIG_HOME");
        for (key, value) in self.env() {
            command.env(key, value);
        }
        command
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulse.log")).unwrap_or_default()
    }
}

impl Drop for PulseSandbox {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
