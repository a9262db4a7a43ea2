//! `agent --text`: stdin lines in, replies and tool calls out, against the fake server and the
//! simulated model.

use std::time::Duration;

use realtime_agent::testing::{FakeServer, Reply};
use serde_json::{Value, json};

use super::support::{Scratch, mask_durations, outputs, package_dir};

const LOOKUP_TOML: &str = r#"
[agent]
instructions = "Test agent."

[[tools]]
kind = "command"
name = "lookup"
description = "Looks up the weather."
program = "./lookup"
args = ["{city}", "{unit}"]

[tools.parameters]
type = "object"
required = ["city", "unit"]
properties.city = { type = "string" }
properties.unit = { type = "string", enum = ["celsius", "fahrenheit"] }
"#;

const LOOKUP_SCRIPT: &str =
    "#!/bin/sh\nstdin=$(cat)\nprintf 'city=%s unit=%s stdin=%s\\n' \"$1\" \"$2\" \"$stdin\"\n";

/// A piped text conversation calls a declared command tool, posts exactly its stdout as the
/// `function_call_output`, prints both replies, and sends the second line only after the
/// first answer is complete.
#[tokio::test]
async fn text_conversation_calls_a_declared_command_tool() {
    let scratch = Scratch::new();
    let config = scratch.config(LOOKUP_TOML);
    scratch.script("lookup", LOOKUP_SCRIPT);
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id(
            "call_1",
            "lookup",
            json!({"city": "Paris", "unit": "celsius"}),
        ))
        .reply(Reply::text("It is 21 degrees in Paris."))
        .reply(Reply::text("You are welcome."))
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
            "weather in Paris?\nthanks\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        mask_durations(&run.stdout),
        "  → lookup {\"city\":\"Paris\",\"unit\":\"celsius\"}\n  \
         ← lookup: city=Paris unit=celsius stdin={\"city\":\"Paris\",\"unit\":\"celsius\"} \
         (DURATION)\nassistant: It is 21 degrees in Paris.\nassistant: You are welcome.\n"
    );
    let expected_output =
        "city=Paris unit=celsius stdin={\"city\":\"Paris\",\"unit\":\"celsius\"}\n";
    assert_eq!(
        outputs(&server),
        vec![("call_1".to_owned(), expected_output.to_owned())]
    );
    // The output item exactly as it went over the wire.
    let frame = server
        .received()
        .into_iter()
        .find(|r| r.raw.contains("function_call_output"))
        .expect("a function_call_output was sent");
    let frame: Value = serde_json::from_str(&frame.raw).unwrap();
    assert_eq!(
        frame["item"],
        json!({"type": "function_call_output", "call_id": "call_1", "output": expected_output})
    );
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
            "response.create",
        ]
    );
    assert!(
        run.stderr.contains("session: ") && run.stderr.contains("3 responses, 1 tool call"),
        "{}",
        run.stderr
    );
}

/// `confirm = true` asks before each call; the answers come from stdin in order, a "n" keeps
/// the program from running and tells the model, a "y" runs it.
#[tokio::test]
async fn approval_answers_come_from_stdin() {
    let scratch = Scratch::new();
    let config = scratch.config(
        r#"
[[tools]]
kind = "command"
name = "remove_file"
description = "Removes a file."
program = "./remove"
args = ["{name}"]
confirm = true

[tools.parameters]
type = "object"
required = ["name"]
properties.name = { type = "string" }
"#,
    );
    scratch.script(
        "remove",
        "#!/bin/sh\nrm -- \"$1\" && printf 'removed %s\\n' \"$1\"\n",
    );
    scratch.file("a", "keep me");
    scratch.file("b", "remove me");
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_a", "remove_file", json!({"name": "a"})))
        .reply(Reply::text("I left a alone."))
        .reply(Reply::new().and_call_with_id("call_b", "remove_file", json!({"name": "b"})))
        .reply(Reply::text("Removed b."))
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
            "remove a\nn\nremove b\ny\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        outputs(&server),
        vec![
            (
                "call_a".to_owned(),
                json!({"error": "rejected", "message": "the user did not allow remove_file to run"})
                    .to_string()
            ),
            ("call_b".to_owned(), "removed b\n".to_owned()),
        ]
    );
    assert!(scratch.path("a").exists(), "the refused call did not run");
    assert!(!scratch.path("b").exists(), "the approved call ran");
    assert!(
        run.stderr
            .contains("? allow remove_file {\"name\":\"a\"}? [y/N] n\n")
            && run
                .stderr
                .contains("? allow remove_file {\"name\":\"b\"}? [y/N] y\n"),
        "{}",
        run.stderr
    );
    assert!(
        mask_durations(&run.stdout).contains(
            "  ✗ remove_file was not allowed (DURATION): the user did not allow remove_file to run\n"
        ),
        "{}",
        run.stdout
    );
}

/// `--sim --text` with the shipped agent.toml: the simulated model calls the shipped calculator
/// named in the message, with the expression taken from it, and says the result.
#[tokio::test]
async fn sim_calls_the_shipped_calculator_by_name() {
    let scratch = Scratch::new();
    let config = package_dir().join("agent.toml");
    let run = scratch
        .run(
            &["--sim", "--text", "--config", config.to_str().unwrap()],
            "calculate (2+3)*4\nhello\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        mask_durations(&run.stdout),
        "  → calculate {\"expression\":\"(2+3)*4\"}\n  ← calculate: 20 (DURATION)\n\
         assistant: calculate says: 20.\n\
         assistant: (simulated model) You said: \"hello\". I am the built-in simulation, not a \
         real model: I call a tool when your words name it. Try naming one: time and date, \
         calculate, add note, read notes, system status, open url, weather.\n"
    );
    assert!(
        run.stderr.contains("No real model is involved"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("cost:    none (simulated model, nothing billed)"),
        "{}",
        run.stderr
    );
}

/// Ctrl-C (SIGINT) ends a session cleanly: the connection is closed, the summary printed, and
/// the exit code is 0.
#[tokio::test]
async fn ctrl_c_ends_the_session_cleanly() {
    let scratch = Scratch::new();
    let server = FakeServer::start().await;
    let url = server.url();
    let mut child = scratch
        .command(&["--text", "--url", &url], &[])
        .spawn()
        .expect("the agent starts");
    // stdin stays open: only Ctrl-C can end this session.
    let _stdin = child.stdin.take();
    server
        .wait_for_received("session.update", 1, Duration::from_secs(20))
        .await;
    let pid = child.id().expect("a running child has a pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the agent ends after Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("ending the session…") && stderr.contains("session: "),
        "{stderr}"
    );
}

/// A second Ctrl-C quits without waiting for the session, with code 130, and returns from
/// `Cli::run` rather than ending the process: a binary of the user's own (the `custom_cli`
/// example) still runs its clean-up afterwards.
#[tokio::test]
async fn second_ctrl_c_returns_130_to_the_users_own_binary() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    // `cargo test` builds the examples next to the test binaries' `deps` directory.
    let example = std::env::current_exe()
        .expect("the test binary's path")
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>")
        .join("examples/custom_cli");
    // `cargo test --test cli` alone does not build examples: refuse an old one rather than
    // test yesterday's code.
    let built = std::fs::metadata(&example).and_then(|m| m.modified()).ok();
    let sources = package_dir().join("src");
    let newest_source = newest_modification(&sources).max(newest_modification(
        &package_dir().join("examples/custom_cli.rs"),
    ));
    assert!(
        built.is_some_and(|built| built >= newest_source),
        "{} is missing or older than the sources: `cargo test --all-features` builds it, or run \
         `cargo build --all-features --example custom_cli`",
        example.display()
    );
    let scratch = Scratch::new();
    let server = FakeServer::start().await;
    let url = server.url();
    let mut child = scratch
        .command_of(&example, &["--text", "--url", &url], &[])
        .spawn()
        .expect("the example starts");
    let _stdin = child.stdin.take();
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    server
        .wait_for_received("session.update", 1, Duration::from_secs(20))
        .await;
    // A server that never answers the close frame holds the clean shutdown for its 2 s close
    // timeout: the window in which the second Ctrl-C lands.
    server.freeze_connection();
    let pid = child.id().expect("a running child has a pid").to_string();
    let interrupt = || {
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
    };
    interrupt();
    let mut seen = Vec::new();
    let read = async {
        while let Some(line) = stderr.next_line().await.expect("stderr is UTF-8") {
            let stopping = line.contains("ending the session…");
            seen.push(line);
            if stopping {
                return;
            }
        }
        panic!("stderr ended before the first Ctrl-C was noted");
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .unwrap_or_else(|_| panic!("the first Ctrl-C was not noted: {seen:#?}"));
    interrupt();
    let rest = async {
        while let Some(line) = stderr.next_line().await.expect("stderr is UTF-8") {
            seen.push(line);
        }
        child.wait().await.expect("the example runs")
    };
    let status = tokio::time::timeout(Duration::from_secs(20), rest)
        .await
        .expect("the example ends after a second Ctrl-C");
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted again: quitting now"),
        "{stderr}"
    );
    // Printed by the example's `main` after `Cli::run` returned.
    assert!(
        stderr.ends_with("custom_cli: 0 dice rolled this session"),
        "{stderr}"
    );
}

/// The summary sums every `response.done` usage by type and prices it with `[prices."model"]`
/// from agent.toml; a model without a price says how to add one.
#[tokio::test]
async fn usage_is_summed_and_priced_from_agent_toml() {
    use realtime_agent::agent::{Prices, UsageTotals};
    use realtime_agent::protocol::ServerEvent;

    let scratch = Scratch::new();
    let config = scratch.config(
        "[agent]\nmodel = \"house-model\"\n\n[prices.\"house-model\"]\ntext_in = 10.0\n\
         cached_text_in = 1.0\ntext_out = 30.0\naudio_in = 50.0\ncached_audio_in = 2.0\n\
         audio_out = 90.0\n",
    );
    let server = FakeServer::builder()
        .reply(Reply::text("First answer, with a few words in it."))
        .reply(Reply::text("Second."))
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
            "one\ntwo\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let mut totals = UsageTotals::default();
    for sent in server.sent() {
        if let Some(ServerEvent::ResponseDone(done)) = sent.event {
            totals.add(
                done.response
                    .usage
                    .as_ref()
                    .expect("the fake reports usage"),
            );
        }
    }
    assert_eq!(totals.responses, 2);
    let prices = Prices {
        text_in: 10.0,
        cached_text_in: 1.0,
        text_out: 30.0,
        audio_in: 50.0,
        cached_audio_in: 2.0,
        audio_out: 90.0,
    };
    let expected = format!(
        "tokens:  input text {} (cached {}), audio {} (cached {}); output text {}, audio {}\n\
         cost:    ${:.4} at the agent.toml prices for house-model\n",
        totals.text_in,
        totals.cached_text_in,
        totals.audio_in,
        totals.cached_audio_in,
        totals.text_out,
        totals.audio_out,
        totals.cost(&prices)
    );
    assert!(
        run.stderr.ends_with(&expected),
        "{}\nexpected:\n{expected}",
        run.stderr
    );

    // Another model, no price: the summary says so and how to set one.
    let server = FakeServer::start().await;
    let url = server.url();
    let run = scratch
        .run(
            &["--text", "--url", &url, "--model", "mystery-model"],
            "hi\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains(
            "cost:    unknown: no price is known for model `mystery-model`. Add it to agent.toml \
             (USD per million tokens):\n         [prices.\"mystery-model\"]\n"
        ),
        "{}",
        run.stderr
    );
}

/// `--metrics` prints each turn's latency on stderr as it ends, and the session ends with the
/// percentiles over all turns; without it only the percentiles are printed.
#[tokio::test]
async fn metrics_prints_a_line_per_turn_and_the_percentiles() {
    let scratch = Scratch::new();
    let config = package_dir().join("agent.toml");
    let run = scratch
        .run(
            &[
                "--sim",
                "--text",
                "--metrics",
                "--config",
                config.to_str().unwrap(),
            ],
            "calculate (2+3)*4\nhello\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let lines: Vec<String> = run.stderr.lines().map(mask_ms).collect();
    let turns: Vec<&String> = lines.iter().filter(|l| l.starts_with("turn ")).collect();
    assert_eq!(
        turns,
        [
            "turn 1 (text): created N ms, first text N ms, calculate N ms, total N ms",
            "turn 2 (text): created N ms, first text N ms, total N ms",
        ],
        "{}",
        run.stderr
    );
    assert!(
        lines.iter().any(|l| l
            == "latency over 2 turns (p50/p95): created N/N ms, first text N/N ms, tools N/N ms, \
                total N/N ms"),
        "{}",
        run.stderr
    );

    let quiet = scratch
        .run(
            &["--sim", "--text", "--config", config.to_str().unwrap()],
            "hello\n",
            &[],
        )
        .await;
    assert_eq!(quiet.code, 0, "{quiet:#?}");
    assert!(!quiet.stderr.contains("turn 1"), "{}", quiet.stderr);
    assert!(
        quiet
            .stderr
            .contains("latency over 1 turn (p50/p95): created "),
        "{}",
        quiet.stderr
    );
}

/// Replaces every figure in milliseconds (`120 ms`, `110/180 ms`) with N.
fn mask_ms(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let rest: String = chars[i..].iter().collect();
        let word_start = start == 0 || matches!(chars[start - 1], ' ' | '/');
        if word_start && (rest.starts_with(" ms") || rest.starts_with('/')) {
            out.push('N');
        } else {
            out.extend(&chars[start..i]);
        }
    }
    out
}

/// The newest modification time of `path` or any file under it.
fn newest_modification(path: &std::path::Path) -> std::time::SystemTime {
    let metadata = std::fs::metadata(path).expect("a source path");
    let mut newest = metadata.modified().expect("file times");
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).expect("a source directory") {
            newest = newest.max(newest_modification(&entry.expect("an entry").path()));
        }
    }
    newest
}
