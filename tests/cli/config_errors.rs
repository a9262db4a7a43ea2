//! Every kind of agent.toml mistake is reported with its file, line, column and key (and the
//! nearest valid key for a typo), with exit code 3.

use super::support::Scratch;

/// Runs `agent check` on `text` and returns the first line of the error and the whole stderr.
async fn check(text: &str) -> (String, String) {
    let scratch = Scratch::new();
    let path = scratch.config(text);
    let run = scratch
        .run(&["check", "--config", path.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(run.code, 3, "exit code for\n{text}\n{run:#?}");
    assert_eq!(run.stdout, "", "nothing is printed as valid");
    let prefix = format!("error: {}:", path.display());
    let first = run.stderr.lines().next().unwrap_or_default();
    let first = first
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("the error names the file: {}", run.stderr))
        .to_owned();
    (first, run.stderr)
}

/// Each mistake, the line, column, key and message it gets.
#[tokio::test]
async fn each_config_error_names_line_column_and_key() {
    let cases: &[(&str, &str)] = &[
        (
            "[agent]\nmodel = \"gpt-realtime\"\nvocie = \"marin\"\n",
            "3:1: `agent.vocie`: unknown key in [agent]; did you mean `voice`?",
        ),
        (
            "[agnet]\nmodel = \"gpt-realtime\"\n",
            "1:2: `agnet`: unknown key in agent.toml; did you mean `agent`?",
        ),
        (
            "[audio]\nhalf_duplx = false\n",
            "2:1: `audio.half_duplx`: unknown key in [audio]; did you mean `half_duplex`?",
        ),
        (
            "[agent]\ncolour = \"blue\"\n",
            "2:1: `agent.colour`: unknown key in [agent]; valid keys: model, api, url, voice, \
             instructions, instructions_file, output_modalities, temperature, speed, \
             max_output_tokens, api_key_env, tools, handoffs",
        ),
        (
            "[agent]\ntemperature = \"warm\"\n",
            "2:15: `agent.temperature`: invalid type: string \"warm\", expected a number",
        ),
        (
            "[agent]\napi = \"gaa\"\n",
            "2:7: `agent.api`: unknown value `gaa`, expected `ga` or `beta`",
        ),
        (
            "[turn_detection]\nthreshold = 1.5\n",
            "2:13: `turn_detection.threshold`: 1.5 is out of range: use 0 to 1",
        ),
        (
            "[turn_detection]\ntype = \"semantic_vad\"\nsilence_duration_ms = 300\n",
            "3:1: `turn_detection.silence_duration_ms`: `silence_duration_ms` is a setting of \
             type = \"server_vad\", not of type = \"semantic_vad\"",
        ),
        (
            "[agent]\nmodel = \"m\"\n[agent\n",
            "3:7: invalid TOML: unclosed table, expected `]`",
        ),
        (
            "[[tools]]\nname = \"x\"\nprogram = \"x\"\n",
            "1:1: `tools[0]`: missing `kind`: each [[tools]] entry needs kind = \"command\", \
             \"http\" or \"hosted_mcp\"",
        ),
        (
            "[[tools]]\nkind = \"comand\"\nname = \"x\"\n",
            "2:8: `tools[0].kind`: unknown tool kind \"comand\": use \"command\", \"http\" or \
             \"hosted_mcp\"; did you mean \"command\"?",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\nurl = \"https://a\"\n",
            "5:1: `tools[0].url`: `url` is a setting of kind = \"http\" tools; this tool is kind = \
             \"command\"",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\nconfrim = true\n",
            "5:1: `tools[0].confrim`: unknown key in [[tools]]; did you mean `confirm`?",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\n",
            "1:1: `tools[0]`: missing key `program`",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\nargs = [\"--city\", \"{town}\"]\n",
            "5:19: `tools[0].args[1]`: `{town}` is not a declared parameter (the tool declares none)",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\n\n[tools.parameters]\n\
             type = \"object\"\nproperties.unit = { type = \"strng\" }\n",
            "8:28: `tools[0].parameters.properties.unit.type`: unknown type \"strng\" (expected \
             string, integer, number, boolean, array, object or null)",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\n\n\
             [[tools]]\nkind = \"http\"\nname = \"x\"\nurl = \"https://example.com/\"\n",
            "8:8: `tools[1].name`: a tool named \"x\" is declared twice; tool names must be unique",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\ntimeout = \"5s\"\n",
            "5:11: `tools[0].timeout`: invalid type: string \"5s\", expected a number",
        ),
        (
            "[agent]\napi_key_env = \"MY_KEY\"\n[[tools]]\nkind = \"command\"\nname = \"x\"\n\
             program = \"x\"\ninherit_env = false\npass_env = [\"PATH\", \"MY_KEY\"]\n",
            "8:21: `tools[0].pass_env[1]`: MY_KEY holds the API key, which a tool's program never \
             gets (the agent withholds it); remove it here",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\n\
             env = { OPENAI_API_KEY = \"x\" }\n",
            "5:26: `tools[0].env.OPENAI_API_KEY`: OPENAI_API_KEY holds the API key, which a tool's \
             program never gets (the agent withholds it); remove it here",
        ),
        (
            "[[tools]]\nkind = \"command\"\nname = \"x\"\nprogram = \"x\"\ninherit_env = \"no\"\n",
            "5:15: `tools[0].inherit_env`: invalid type: string \"no\", expected true or false",
        ),
        (
            "[prices.\"gpt-realtime\"]\ntext_in = 4.0\ntext_outt = 16.0\n",
            "3:1: `prices.\"gpt-realtime\".text_outt`: unknown key in a [prices.\"model\"] table; \
             did you mean `text_out`?",
        ),
    ];
    for (text, expected) in cases {
        let (first, stderr) = check(text).await;
        assert_eq!(first, *expected, "for\n{text}\nstderr:\n{stderr}");
    }
}

/// The error shows the line it points at, with a caret under the spot.
#[tokio::test]
async fn config_errors_show_the_line_and_a_caret() {
    let (_, stderr) = check("[agent]\nmodel = \"gpt-realtime\"\ntemperature = \"warm\"\n").await;
    let tail: Vec<&str> = stderr.lines().skip(1).collect();
    assert_eq!(
        tail,
        ["  |", "3 | temperature = \"warm\"", "  |               ^"],
        "{stderr}"
    );
}

/// A key pasted where the variable name goes is refused without being shown back.
#[tokio::test]
async fn a_key_in_the_file_is_refused_and_not_echoed() {
    let (first, stderr) = check("[agent]\napi_key_env = \"sk-proj-abcdef0123456789\"\n").await;
    assert!(
        first.starts_with("2:15: `agent.api_key_env`: this looks like an API key"),
        "{first}"
    );
    assert!(!stderr.contains("sk-proj-abcdef0123456789"), "{stderr}");
}
