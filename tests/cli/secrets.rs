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
