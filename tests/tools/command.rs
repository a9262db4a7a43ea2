//! Command tools: argv without a shell, stdin JSON, exit status and stderr, bounded output,
//! killing on timeout and cancel, missing programs.

use std::path::Path;
use std::time::{Duration, Instant};

use realtime_agent::tool::{
    CommandError, CommandTool, CommandToolSpec, DynTool, ToolContext, ToolError,
};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/scripts");

fn tool(toml_text: &str) -> CommandTool {
    let spec: CommandToolSpec = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
    CommandTool::new(spec).unwrap_or_else(|e| panic!("{e}"))
}

async fn run(tool: &CommandTool, arguments: &str) -> Result<String, ToolError> {
    tool.call_json(arguments, ToolContext::standalone("call_1"))
        .await
}

/// The tool error's message, as the model sees it.
async fn failure(tool: &CommandTool, arguments: &str) -> String {
    match run(tool, arguments).await {
        Err(ToolError::Failed { source }) => source.to_string(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

const PRINTF_ARGS: &str = r#"
name = "show_args"
program = "printf"
args = ["[%s]\n", "{text}", "--unit={unit}", "{unit}", "{{literal}}", "{count}", "{flags}"]
[parameters]
type = "object"
required = ["text"]
properties.text = { type = "string" }
properties.unit = { type = "string" }
properties.count = { type = "integer" }
properties.flags = { type = "array", items = { type = "boolean" } }
"#;

/// Each placeholder fills exactly one argv element, whatever the value holds: no shell ever
/// sees it, so quotes, `;`, `$(…)` and spaces arrive verbatim.
#[tokio::test]
async fn placeholders_are_single_argv_elements() {
    let tool = tool(PRINTF_ARGS);
    let output = run(
        &tool,
        r#"{"text":"a b; rm -rf / $(reboot) `id` 'q' \"dq\" | cat > x","unit":"c","count":3,"flags":[true,false]}"#,
    )
    .await
    .unwrap();
    assert_eq!(
        output,
        "[a b; rm -rf / $(reboot) `id` 'q' \"dq\" | cat > x]\n[--unit=c]\n[c]\n[{literal}]\n[3]\n[[true,false]]\n"
    );
}

/// An element whose placeholder names an absent (or null) optional argument is left out.
#[tokio::test]
async fn absent_optional_elements_are_dropped() {
    let tool = tool(PRINTF_ARGS);
    let output = run(&tool, r#"{"text":"only","unit":null}"#).await.unwrap();
    assert_eq!(output, "[only]\n[{literal}]\n");
}

/// The validated arguments are written to stdin as one JSON object.
#[tokio::test]
async fn arguments_arrive_on_stdin_as_json() {
    let tool = tool(
        r#"
        name = "echo_json"
        program = "/bin/cat"
        parameters = { type = "object", properties.city = { type = "string" } }
        "#,
    );
    assert_eq!(
        run(&tool, r#"{ "city" : "Zürich" }"#).await.unwrap(),
        r#"{"city":"Zürich"}"#
    );
}

/// A non-zero exit gives the model the status and stderr.
#[tokio::test]
async fn nonzero_exit_reports_status_and_stderr() {
    let tool = tool(&format!(
        r#"
        name = "weather"
        program = "{SCRIPTS}/fail"
        args = ["{{city}}"]
        parameters = {{ type = "object", properties.city = {{ type = "string" }} }}
        "#
    ));
    assert_eq!(
        failure(&tool, r#"{"city":"Atlantis"}"#).await,
        "the program exited with status 3: no weather for Atlantis"
    );
    let silent = self::tool("name = \"f\"\nprogram = \"false\"");
    assert_eq!(
        failure(&silent, "{}").await,
        "the program exited with status 1 and wrote nothing to stderr"
    );
}

/// Stdout past `max_output_bytes` is dropped with a note; a big output does not block the child.
#[tokio::test]
async fn output_is_cut_to_the_bound() {
    let tool = tool(
        r#"
        name = "echo_json"
        program = "/bin/cat"
        max_output_bytes = 12
        parameters = { type = "object", properties.text = { type = "string" } }
        "#,
    );
    let big = "x".repeat(1_000_000);
    let output = run(&tool, &format!(r#"{{"text":"{big}"}}"#)).await.unwrap();
    assert_eq!(output, "{\"text\":\"xxx\n[output cut at 12 bytes]");
}

/// `cwd` and `env` reach the program.
#[tokio::test]
async fn cwd_and_env_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = dir.path().canonicalize().unwrap();
    let pwd = tool(&format!(
        "name = \"where\"\nprogram = \"pwd\"\ncwd = \"{}\"",
        canonical.display()
    ));
    assert_eq!(
        run(&pwd, "{}").await.unwrap(),
        format!("{}\n", canonical.display())
    );
    let printenv = tool(
        "name = \"env\"\nprogram = \"printenv\"\nargs = [\"TOOL_TEST_VALUE\"]\nenv = { TOOL_TEST_VALUE = \"v 1\" }",
    );
    assert_eq!(run(&printenv, "{}").await.unwrap(), "v 1\n");
}

/// A program that does not exist is a clear error, on PATH or as a path.
#[tokio::test]
async fn missing_program_is_a_clear_error() {
    let on_path = tool("name = \"m\"\nprogram = \"no-such-program-4e1f\"");
    assert_eq!(
        failure(&on_path, "{}").await,
        "program \"no-such-program-4e1f\" was not found"
    );
    let as_path = tool("name = \"m\"\nprogram = \"/nonexistent/dir/prog\"");
    match run(&as_path, "{}").await {
        Err(ToolError::Failed { source }) => assert!(matches!(
            source.downcast_ref::<CommandError>(),
            Some(CommandError::NotFound { program }) if program == "/nonexistent/dir/prog"
        )),
        other => panic!("expected not found, got {other:?}"),
    }
}

/// Invalid arguments stop the call before the program runs.
#[tokio::test]
async fn invalid_arguments_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pid");
    let tool = sleepy();
    match run(&tool, r#"{"file": 5}"#).await {
        Err(ToolError::InvalidArguments { message }) => {
            assert_eq!(message, r#"field "file": expected string, got 5"#)
        }
        other => panic!("expected invalid arguments, got {other:?}"),
    }
    assert!(!marker.exists());
}

fn sleepy() -> CommandTool {
    tool(&format!(
        r#"
        name = "sleepy"
        program = "{SCRIPTS}/sleepy"
        args = ["{{file}}"]
        timeout = 0.5
        parameters = {{ type = "object", required = ["file"], properties.file = {{ type = "string" }} }}
        "#
    ))
}

/// Waits for the script to write its pid.
async fn pid_from(marker: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(marker)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the script never wrote its pid");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the process is gone (or a zombie: dead, waiting to be reaped).
fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

async fn assert_killed(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_dead(pid) {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// When the agent loop drops a call at its timeout, the program is killed.
#[tokio::test]
async fn timeout_kills_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pid");
    let tool = sleepy();
    let limit = tool.options().timeout;
    assert_eq!(limit, Duration::from_millis(500));
    let arguments = serde_json::json!({"file": marker}).to_string();
    let mut call = Box::pin(tool.call_json(&arguments, ToolContext::standalone("call_1")));
    // Once the program runs, give the call its limit, then drop it as the agent loop does.
    let pid = tokio::select! {
        result = &mut call => panic!("the call ended by itself: {result:?}"),
        pid = pid_from(&marker) => pid,
    };
    assert!(tokio::time::timeout(limit, &mut call).await.is_err());
    drop(call);
    assert_killed(pid).await;
}

/// Cancelling the call's token ends the call with `Cancelled` and kills the program.
#[tokio::test]
async fn cancel_kills_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pid");
    let tool = sleepy();
    let ctx = ToolContext::standalone("call_1");
    let token = ctx.cancellation().clone();
    let arguments = serde_json::json!({"file": marker}).to_string();
    let (result, pid) = tokio::join!(tool.call_json(&arguments, ctx), async {
        let pid = pid_from(&marker).await;
        token.cancel();
        pid
    });
    assert!(matches!(result, Err(ToolError::Cancelled)), "{result:?}");
    assert_killed(pid).await;
}

/// Templates are checked at load: unknown placeholders, placeholders in `program`, bad braces.
#[test]
fn bad_templates_are_refused_at_load() {
    let error = |text: &str| {
        let spec: CommandToolSpec = toml::from_str(text).unwrap();
        CommandTool::new(spec).unwrap_err().to_string()
    };
    assert_eq!(
        error(
            "name = \"t\"\nprogram = \"cat\"\nargs = [\"{citty}\"]\nparameters = { type = \"object\", properties.city = { type = \"string\" } }"
        ),
        "tool \"t\": `args[0]`: `{citty}` is not a declared parameter (parameters: city)"
    );
    assert_eq!(
        error(
            "name = \"t\"\nprogram = \"{prog}\"\nparameters = { type = \"object\", properties.prog = { type = \"string\" } }"
        ),
        "tool \"t\": `program`: the program cannot hold placeholders: the model must not choose \
         which program runs; pass values in `args`"
    );
    assert_eq!(
        error("name = \"t\"\nprogram = \"cat\"\nargs = [\"ok\", \"{oops\"]"),
        "tool \"t\": `args[1]`: unclosed `{` at byte 0 (write `{{` for a literal brace)"
    );
}

/// Relative program paths and `cwd` resolve against the config's directory; bare names do not.
#[test]
fn relative_paths_resolve_against_the_config_dir() {
    let spec: CommandToolSpec =
        toml::from_str("name = \"t\"\nprogram = \"tools/notes\"\ncwd = \"data\"").unwrap();
    let spec = spec.relative_to(Path::new("/etc/agent"));
    assert_eq!(spec.program, "/etc/agent/tools/notes");
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/etc/agent/data")));
    let spec: CommandToolSpec = toml::from_str("name = \"t\"\nprogram = \"date\"").unwrap();
    assert_eq!(spec.relative_to(Path::new("/etc/agent")).program, "date");
}

const PLANTED: &str = "sk-planted-child-env-0123456789";

/// With `inherit_env = false` the program gets exactly the `pass_env` variables that are set
/// plus `env`, nothing more: `/usr/bin/env` (no shell in between) prints its whole environment.
#[tokio::test]
async fn a_clean_environment_is_exactly_pass_env_and_env() {
    let env = tool(
        "name = \"env\"\nprogram = \"/usr/bin/env\"\ninherit_env = false\n\
         pass_env = [\"PATH\", \"NOT_SET_ANYWHERE_7c1\"]\nenv = { LANG = \"C.UTF-8\", A_FLAG = \"1\" }",
    );
    let path = std::env::var("PATH").unwrap();
    assert_eq!(
        run(&env, "{}").await.unwrap(),
        format!("A_FLAG=1\nLANG=C.UTF-8\nPATH={path}\n")
    );
    let nothing = tool("name = \"env\"\nprogram = \"/usr/bin/env\"\ninherit_env = false");
    assert_eq!(run(&nothing, "{}").await.unwrap(), "");
}

/// A variable holding the agent's key never reaches the program, whatever its name: the
/// session's key arrives through the tool context.
#[tokio::test]
async fn a_variable_holding_the_key_is_withheld() {
    let env = tool(&format!(
        "name = \"env\"\nprogram = \"/usr/bin/env\"\n\
         env = {{ INNOCENT_NAME = \"{PLANTED}\", AUTH = \"Bearer {PLANTED}\", KEPT = \"yes\" }}"
    ));
    let ctx = ToolContext::standalone("call_1")
        .with_withheld_secrets(vec![realtime_agent::ApiKey::new(PLANTED)]);
    let output = env.call_json("{}", ctx).await.unwrap();
    assert!(!output.contains(PLANTED), "{output}");
    assert!(!output.contains("INNOCENT_NAME=") && !output.contains("AUTH="));
    assert!(output.lines().any(|l| l == "KEPT=yes"), "{output}");
    assert!(!output.contains("OPENAI_API_KEY="), "{output}");
}

/// Environment settings are checked at load: `pass_env` needs `inherit_env = false`, and
/// names must be names.
#[test]
fn bad_environment_settings_are_refused_at_load() {
    let error = |text: &str| {
        let spec: CommandToolSpec = toml::from_str(text).unwrap();
        CommandTool::new(spec).unwrap_err().to_string()
    };
    assert_eq!(
        error("name = \"t\"\nprogram = \"env\"\npass_env = [\"PATH\"]"),
        "tool \"t\": `pass_env`: `pass_env` picks what a program gets when it does not inherit \
         the agent's environment: add inherit_env = false, or remove pass_env"
    );
    assert_eq!(
        error(
            "name = \"t\"\nprogram = \"env\"\ninherit_env = false\npass_env = [\"PATH\", \"A=B\"]"
        ),
        "tool \"t\": `pass_env[1]`: an environment variable name cannot be empty or hold `=`"
    );
}
