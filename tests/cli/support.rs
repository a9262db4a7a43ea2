//! Running the `agent` binary in a scratch directory and reading what it did.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use realtime_agent::protocol::{ClientEvent, Item};
use realtime_agent::testing::FakeServer;
use tokio::io::AsyncWriteExt;

/// How long any one run may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A scratch directory to run in, so that no `./agent.toml` is picked up by accident.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `agent.toml` with `text` and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        self.file("agent.toml", text)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("writing a scratch file");
        path
    }

    /// Writes an executable script.
    pub fn script(&self, name: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.file(name, text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("making a script executable");
        path
    }

    /// A command for the binary in this directory, with no key or URL from the environment
    /// unless `env` sets one, and a `HOME` and `XDG_*` directories of its own (empty: no sound
    /// server, no PulseAudio cookie) under `home/`.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        self.command_of(Path::new(env!("CARGO_BIN_EXE_agent")), args, env)
    }

    /// As [`Scratch::command`], for another program built on the CLI (an example).
    pub fn command_of(
        &self,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> tokio::process::Command {
        let home = self.path("home");
        let runtime = home.join("runtime");
        std::fs::create_dir_all(&runtime).expect("a scratch home");
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env_remove("PULSE_SERVER")
            .env_remove("PULSE_COOKIE")
            .env_remove("PULSE_RUNTIME_PATH")
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_REALTIME_URL")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    /// Runs the binary with `args`, `stdin` written and closed, and waits for it.
    pub async fn run(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut child = self
            .command(args, env)
            .spawn()
            .expect("the agent binary starts");
        let mut input = child.stdin.take().expect("piped stdin");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("writing stdin");
        drop(input);
        let output = tokio::time::timeout(WAIT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("agent {args:?} did not finish within {WAIT:?}"))
            .expect("the agent binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Runs `agent check` on `text`, which must be refused as a configuration error (code 3);
/// returns the error's first line after the file name.
pub async fn refused(text: &str) -> String {
    let scratch = Scratch::new();
    let path = scratch.config(text);
    let run = scratch
        .run(&["check", "--config", path.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(run.code, 3, "exit code for\n{text}\n{run:#?}");
    let prefix = format!("error: {}:", path.display());
    run.stderr
        .lines()
        .next()
        .and_then(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the error names the file: {}", run.stderr))
        .to_owned()
}

/// `(12 ms)` and `(1.5 s)` become `(DURATION)`, for exact comparisons of output.
pub fn mask_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('(') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(')').map(|e| e + 1);
        let masked = end.and_then(|end| {
            let inner = &tail[1..end - 1];
            let (number, unit) = inner.split_once(' ')?;
            let numeric = number.chars().all(|c| c.is_ascii_digit() || c == '.');
            (numeric && matches!(unit, "ms" | "s")).then_some(end)
        });
        match masked {
            Some(end) => {
                out.push_str("(DURATION)");
                rest = &tail[end..];
            }
            None => {
                out.push('(');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `function_call_output` items the server received, as (call_id, output).
pub fn outputs(server: &FakeServer) -> Vec<(String, String)> {
    server
        .received()
        .into_iter()
        .filter_map(|r| match r.event {
            Some(ClientEvent::ConversationItemCreate(create)) => match create.item {
                Item::FunctionCallOutput(o) => Some((o.call_id, o.output)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The directory of this package (for the shipped agent.toml and tools/).
pub fn package_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Real speech: espeak-ng's voice, resampled by sox to 44.1 kHz stereo so that the agent has to
/// mix and resample it.
pub fn speech_wav(scratch: &Scratch, text: &str) -> std::path::PathBuf {
    for tool in ["espeak-ng", "sox"] {
        let found = std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok();
        assert!(
            found,
            "{tool} is needed for this test: apt-get install espeak-ng sox"
        );
    }
    let raw = scratch.path("espeak.wav");
    let ok = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&raw)
        .arg(text)
        .status()
        .unwrap()
        .success();
    assert!(ok, "espeak-ng failed");
    let input = scratch.path("in.wav");
    let ok = std::process::Command::new("sox")
        .arg(&raw)
        .args(["-r", "44100", "-c", "2"])
        .arg(&input)
        .status()
        .unwrap()
        .success();
    assert!(ok, "sox failed");
    input
}
