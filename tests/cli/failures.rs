//! Failures a user can act on: each has its message and its own exit code.

use realtime_agent::testing::FakeServer;

use super::support::Scratch;

/// Without a key (and not talking to this machine), the agent says how to set it, mentions
/// `--sim`, and exits with 4 before connecting anywhere.
#[tokio::test]
async fn missing_key_says_how_to_set_it() {
    let scratch = Scratch::new();
    let run = scratch.run(&["--text"], "hello\n", &[]).await;
    assert_eq!(run.code, 4, "{run:#?}");
    assert_eq!(
        run.stderr,
        "note: no ./agent.toml here; using the defaults (no declared tools)\n\
         error: no API key: the environment variable OPENAI_API_KEY is not set.\n\
         Set it for this shell (keys are at https://platform.openai.com/api-keys):\n    \
         export OPENAI_API_KEY=\"sk-...\"\n\
         (`api_key_env` in agent.toml names another variable.) Or try the whole loop, tools \
         included, without a key or a network:\n    agent --sim --text\n"
    );
    // A configured variable name is the one named.
    let config = scratch.config("[agent]\napi_key_env = \"MY_REALTIME_KEY\"\n");
    let run = scratch
        .run(&["--text", "--config", config.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(run.code, 4);
    assert!(
        run.stderr
            .contains("the environment variable MY_REALTIME_KEY is not set"),
        "{}",
        run.stderr
    );
}

/// Handshake refusals become plain words and distinct codes, and never show the key.
#[tokio::test]
async fn handshake_errors_have_their_own_codes() {
    const KEY: &str = "sk-planted-cli-key-0123456789";
    let scratch = Scratch::new();
    for (status, code, words) in [
        (401, 7, "the server refused the API key (HTTP 401)"),
        (404, 8, "not found (HTTP 404)"),
        (429, 9, "rate limited (HTTP 429); retry after 30s"),
    ] {
        let server = FakeServer::start().await;
        server.refuse_handshakes(status, Some(30), 1);
        let url = server.url();
        let run = scratch
            .run(
                &["--text", "--url", &url],
                "hello\n",
                &[("OPENAI_API_KEY", KEY)],
            )
            .await;
        assert_eq!(run.code, code, "HTTP {status}: {run:#?}");
        assert!(
            run.stderr
                .contains(&format!("error: cannot connect: {words}")),
            "HTTP {status}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains(KEY) && !run.stdout.contains(KEY));
    }
    // Nothing listens: connection refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}/v1/realtime");
    let run = scratch
        .run(&["--text", "--url", &url], "hello\n", &[])
        .await;
    assert_eq!(run.code, 10, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "error: cannot connect: connection refused by 127.0.0.1:{port} (is the server running? check the URL)"
        )),
        "{}",
        run.stderr
    );
}

/// No microphone or speaker: exit 5, with a pointer to `--text` and `--input`.
#[tokio::test]
async fn missing_audio_device_points_to_text_and_files() {
    let scratch = Scratch::new();
    let config = scratch.config(
        "[audio]\ninput_device = \"no-such-microphone\"\noutput_device = \"no-such-speaker\"\n",
    );
    let run = scratch
        .run(&["--sim", "--config", config.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(run.code, 5, "{run:#?}");
    assert!(
        run.stderr.contains("use `--text` for a text-only session"),
        "{}",
        run.stderr
    );
}

/// An unreadable or unsupported WAV: exit 6, saying what it is and what is supported.
#[tokio::test]
async fn bad_wav_input_says_what_is_supported() {
    let scratch = Scratch::new();
    let run = scratch
        .run(&["--sim", "--input", "missing.wav"], "", &[])
        .await;
    assert_eq!(run.code, 6, "{run:#?}");
    assert!(
        run.stderr.contains("error: missing.wav: "),
        "{}",
        run.stderr
    );
    scratch.file("notes.wav", "these are not samples");
    let run = scratch
        .run(&["--sim", "--input", "notes.wav"], "", &[])
        .await;
    assert_eq!(run.code, 6, "{run:#?}");
    assert!(
        run.stderr
            .contains("error: notes.wav: not a valid WAV file: ")
            && run.stderr.contains(
                "supported: PCM integer 8, 16, 24 or 32-bit, or 32-bit float; any sample rate; \
                 any number of channels"
            ),
        "{}",
        run.stderr
    );
}

/// A command line that makes no sense exits with 2 and clap's explanation; `--help` documents
/// every exit code and exits with 0.
#[tokio::test]
async fn usage_errors_and_help() {
    let scratch = Scratch::new();
    let run = scratch.run(&["--output", "out.wav"], "", &[]).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("--input"), "{}", run.stderr);
    let run = scratch.run(&["--help"], "", &[]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    for line in [
        "Exit codes:",
        "   0  success (Ctrl-C included)",
        "   3  invalid configuration (agent.toml, --url, a tool)",
        "   4  no API key (set OPENAI_API_KEY, or try --sim)",
        "   5  no usable audio device (use --text or --input)",
        "   6  a file cannot be read or written (WAV, --record)",
        "   7  the server refused the API key (HTTP 401/403)",
        "  12  `agent token` could not mint a key",
        "--push-to-talk",
        "--record-audio",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in {}",
            run.stdout
        );
    }
}
