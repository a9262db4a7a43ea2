//! The API key stays with the agent: command tools never get it, and `agent check` shows what
//! each tool's program receives, by name only.

use realtime_agent::testing::{FakeServer, Reply};
use serde_json::json;

use super::support::{Scratch, outputs};

const PLANTED: &str = "sk-planted-cli-0123456789abcdef";

/// Two tools that print their environment with `/usr/bin/env` (no shell in between): one
/// inheriting, one with a minimal environment.
fn env_tools() -> String {
    r#"
[agent]
api_key_env = "MY_KEY"

[[tools]]
kind = "command"
name = "inherited"
program = "/usr/bin/env"
env = { SET_BY_TOOL = "1" }

[[tools]]
kind = "command"
name = "minimal"
program = "/usr/bin/env"
inherit_env = false
pass_env = ["PATH", "HOME", "UNSET_IN_TEST_9f"]
env = { LANG = "C.UTF-8" }
"#
    .to_owned()
}

/// With `api_key_env = "MY_KEY"`, a command tool's program gets neither `MY_KEY`, nor a
/// differently named variable holding the same value, nor `OPENAI_API_KEY`; with
/// `inherit_env = false` it gets exactly the set `pass_env` variables plus `env`.
#[tokio::test]
async fn command_tools_never_get_the_key() {
    let scratch = Scratch::new();
    let home = scratch.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.to_str().unwrap().to_owned();
    let config = scratch.config(&env_tools());
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_call_with_id("call_1", "inherited", json!({}))
                .and_call_with_id("call_2", "minimal", json!({})),
        )
        .reply(Reply::text("done"))
        .start()
        .await;
    let url = server.url();
    let path = std::env::var("PATH").unwrap();
    let run = scratch
        .run(
            &[
                "--text",
                "--url",
                &url,
                "--config",
                config.to_str().unwrap(),
            ],
            "show me\n",
            &[
                ("MY_KEY", PLANTED),
                ("SAME_VALUE_OTHER_NAME", PLANTED),
                ("OPENAI_API_KEY", "sk-the-default-variable-0123456789"),
                ("VISIBLE_MARKER", "visible"),
                ("HOME", &home),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let outputs = outputs(&server);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    let inherited = &outputs.iter().find(|(id, _)| id == "call_1").unwrap().1;
    let lines: Vec<&str> = inherited.lines().collect();
    assert!(lines.contains(&"VISIBLE_MARKER=visible"), "{inherited}");
    assert!(lines.contains(&"SET_BY_TOOL=1"), "{inherited}");
    for name in ["MY_KEY=", "SAME_VALUE_OTHER_NAME=", "OPENAI_API_KEY="] {
        assert!(
            !lines.iter().any(|l| l.starts_with(name)),
            "{name} reached the tool:\n{inherited}"
        );
    }
    assert!(!inherited.contains(PLANTED));
    let minimal = &outputs.iter().find(|(id, _)| id == "call_2").unwrap().1;
    assert_eq!(
        *minimal,
        format!("HOME={home}\nLANG=C.UTF-8\nPATH={path}\n")
    );
    assert!(!run.stdout.contains(PLANTED) && !run.stderr.contains(PLANTED));
}

/// `agent check` says what each command tool's program receives: names, never values.
#[tokio::test]
async fn check_shows_each_tools_environment_by_name() {
    let scratch = Scratch::new();
    let config = scratch.config(&env_tools());
    let run = scratch
        .run(
            &["check", "--config", config.to_str().unwrap()],
            "",
            &[
                ("MY_KEY", PLANTED),
                ("SAME_VALUE_OTHER_NAME", PLANTED),
                ("HOME", "/home/check"),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let inherited = lines
        .iter()
        .position(|l| l.starts_with("  inherited "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let env_line = lines[inherited + 1];
    assert!(
        env_line.starts_with("                  env: the agent's environment ("),
        "{env_line}"
    );
    assert!(
        env_line.ends_with(
            "variables), setting SET_BY_TOOL; never MY_KEY, OPENAI_API_KEY, SAME_VALUE_OTHER_NAME"
        ),
        "{env_line}"
    );
    let minimal = lines
        .iter()
        .position(|l| l.starts_with("  minimal "))
        .unwrap();
    assert_eq!(
        lines[minimal + 1],
        "                  env: only HOME, LANG, PATH (inherit_env = false); never MY_KEY, \
         OPENAI_API_KEY"
    );
    assert!(
        lines.contains(
            &"warning: tool minimal: environment variable UNSET_IN_TEST_9f (in pass_env) is not set"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(PLANTED) && !run.stderr.contains(PLANTED));
    assert!(!run.stdout.contains("/home/check"), "values are not shown");
}

/// The key every mode below runs with, planted to be looked for. Not shaped like an OpenAI key,
/// so that only its registration (not a pattern) can hide it.
const TRACE_KEY: &str = "planted-trace-key-0123456789abcdef";

/// Asserts that the key is in none of `texts`, naming where it leaked.
fn assert_nowhere(mode: &str, texts: &[(&str, &str)]) {
    for (what, text) in texts {
        assert!(
            !text.contains(TRACE_KEY),
            "{mode}: the key leaked into {what}:\n{text}"
        );
    }
}

/// A silent second of 24 kHz mono PCM16, for the file mode.
fn silence_wav(scratch: &Scratch) -> std::path::PathBuf {
    let path = scratch.path("in.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 24_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..24_000 {
        writer.write_sample(0i16).unwrap();
    }
    writer.finalize().unwrap();
    path
}

/// At `RUST_LOG=trace`, where every crate logs everything (the WebSocket library logs the whole
/// handshake request, `Authorization` included), no mode puts the key in stdout, stderr, the
/// `--record` file or an error: `--text` with a command tool and an HTTP tool, `--input`,
/// `--sim --text`, `--sim --input` and `agent token`.
#[tokio::test]
async fn no_mode_shows_the_key_at_trace_level() {
    let scratch = Scratch::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_url = format!("http://{}/lookup", listener.local_addr().unwrap());
    let config = scratch.config(&format!(
        r#"
[agent]
api_key_env = "MY_KEY"

[[tools]]
kind = "command"
name = "show_env"
program = "/usr/bin/env"

[[tools]]
kind = "http"
name = "lookup"
method = "POST"
url = "{http_url}"
"#
    ));
    let config = config.to_str().unwrap();
    let env = [
        ("MY_KEY", TRACE_KEY),
        ("RUST_LOG", "trace"),
        ("HOME", scratch.dir.path().to_str().unwrap()),
    ];

    // --text against a server, one round with both tools, everything recorded.
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_call_with_id("call_1", "show_env", json!({}))
                .and_call_with_id("call_2", "lookup", json!({})),
        )
        .reply(Reply::text("done"))
        .start()
        .await;
    let url = server.url();
    let http = tokio::spawn(super::commands::answer_one(
        listener,
        "200 OK",
        json!({"answer": 42}),
    ));
    let run = scratch
        .run(
            &[
                "--text",
                "--url",
                &url,
                "--config",
                config,
                "--record",
                "text.jsonl",
            ],
            "look it up\n",
            &env,
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    http.await.unwrap();
    assert_eq!(outputs(&server).len(), 2);
    assert!(
        server.handshakes()[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.contains(TRACE_KEY)),
        "the key was sent"
    );
    // The handshake request was logged at TRACE, with the key masked.
    assert!(
        run.stderr.contains("Request:") && run.stderr.contains("authorization: Bearer ***"),
        "{}",
        run.stderr
    );
    let record = std::fs::read_to_string(scratch.path("text.jsonl")).unwrap();
    assert_nowhere(
        "--text",
        &[
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("the --record file", &record),
        ],
    );

    // --input against a server.
    let wav = silence_wav(&scratch);
    let server = FakeServer::builder()
        .reply(Reply::text("heard you"))
        .start()
        .await;
    let url = server.url();
    let run = scratch
        .run(
            &[
                "--input",
                wav.to_str().unwrap(),
                "--url",
                &url,
                "--config",
                config,
                "--record",
                "input.jsonl",
            ],
            "",
            &env,
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains("authorization: Bearer ***"),
        "{}",
        run.stderr
    );
    let record = std::fs::read_to_string(scratch.path("input.jsonl")).unwrap();
    assert_nowhere(
        "--input",
        &[
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("the --record file", &record),
        ],
    );

    // The simulated model, in writing and with a WAV file.
    for (mode, args, stdin) in [
        ("--sim --text", vec!["--sim", "--text"], "hello\n"),
        (
            "--sim --input",
            vec![
                "--sim",
                "--input",
                wav.to_str().unwrap(),
                "--output",
                "out.wav",
            ],
            "",
        ),
    ] {
        let mut args = args;
        args.extend(["--config", config, "--record", "sim.jsonl"]);
        let run = scratch.run(&args, stdin, &env).await;
        assert_eq!(run.code, 0, "{mode}: {run:#?}");
        assert!(run.stderr.contains(" TRACE "), "{mode}: traced");
        let record = std::fs::read_to_string(scratch.path("sim.jsonl")).unwrap();
        assert_nowhere(
            mode,
            &[
                ("stdout", &run.stdout),
                ("stderr", &run.stderr),
                ("the --record file", &record),
            ],
        );
    }

    // agent token, against a fake REST API.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let rest = tokio::spawn(super::commands::answer_one(
        listener,
        "200 OK",
        json!({"value": "ek_minted_secret_0123456789abcdef", "expires_at": 4_000_000_000u64}),
    ));
    let run = scratch
        .run(
            &["token", "--config", config, "--api-base", &base],
            "",
            &env,
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let request = rest.await.unwrap();
    assert!(request.head.contains(TRACE_KEY), "the key was sent");
    assert!(run.stderr.contains(" TRACE "), "traced: {}", run.stderr);
    assert_nowhere(
        "agent token",
        &[("stdout", &run.stdout), ("stderr", &run.stderr)],
    );
    assert!(
        !run.stderr.contains("ek_minted_secret_0123456789abcdef"),
        "the minted secret is printed on stdout only:\n{}",
        run.stderr
    );
}

/// Every secret agent.toml names is withheld like the key: the `[serve]` secrets and MCP bearer
/// tokens never reach a command tool's program, by name or by value, and naming one in
/// `pass_env` is refused with the setting that makes it a secret.
#[tokio::test]
async fn command_tools_never_get_the_secrets_agent_toml_names() {
    const TWILIO: &str = "twilio-auth-token-planted-42";
    const BEARER: &str = "mcp-bearer-planted-4242";
    let scratch = Scratch::new();
    let serve_secrets = "[serve]\ntoken_env = \"PAGE_TOKEN\"\ntwilio_auth_token_env = \"TW_TOKEN\"\n\
         openai_webhook_secret_env = \"WH_SECRET\"\n\n";
    let config = scratch.config(&format!(
        "{serve_secrets}[[tools]]\nkind = \"command\"\nname = \"inherited\"\n\
         program = \"/usr/bin/env\"\n"
    ));
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_1", "inherited", json!({})))
        .reply(Reply::text("done"))
        .start()
        .await;
    let url = server.url();
    let run = scratch
        .run(
            &[
                "--text",
                "--url",
                &url,
                "--config",
                config.to_str().unwrap(),
            ],
            "show me\n",
            &[
                ("TW_TOKEN", TWILIO),
                ("COPY_OF_TWILIO", TWILIO),
                ("WH_SECRET", "webhook-secret-planted-77"),
                ("PAGE_TOKEN", "page-token-planted-99"),
                ("VISIBLE_MARKER", "visible"),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let outputs = outputs(&server);
    let inherited = &outputs.iter().find(|(id, _)| id == "call_1").unwrap().1;
    let lines: Vec<&str> = inherited.lines().collect();
    assert!(lines.contains(&"VISIBLE_MARKER=visible"), "{inherited}");
    for name in ["TW_TOKEN=", "COPY_OF_TWILIO=", "WH_SECRET=", "PAGE_TOKEN="] {
        assert!(
            !lines.iter().any(|l| l.starts_with(name)),
            "{name} reached the tool:\n{inherited}"
        );
    }
    assert!(!inherited.contains("planted"), "{inherited}");

    let config = scratch.config(&format!(
        "{serve_secrets}[[mcp]]\nname = \"remote\"\nurl = \"http://127.0.0.1:9/mcp\"\n\
         bearer_token_env = \"MCP_BEARER\"\n\n\
         [[tools]]\nkind = \"command\"\nname = \"leaky\"\nprogram = \"/usr/bin/env\"\n\
         inherit_env = false\npass_env = [\"PATH\", \"MCP_BEARER\"]\n"
    ));
    let run = scratch
        .run(
            &["check", "--config", config.to_str().unwrap()],
            "",
            &[("MCP_BEARER", BEARER)],
        )
        .await;
    assert_eq!(run.code, 3, "a configuration error: {run:#?}");
    assert!(
        run.stderr.contains(
            "`tools[0].pass_env[1]`: MCP_BEARER holds a secret (mcp[0].bearer_token_env names \
             it), which a tool's program never gets"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(BEARER) && !run.stdout.contains(BEARER));
}
