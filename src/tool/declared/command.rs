//! `kind = "command"`: a declared tool that runs a program, without a shell.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::bounded::{bounded_text, read_bounded};
use super::template::{Template, verbatim};
use super::{CommonSpec, Declared, SpecError, no_parameters};
use crate::protocol::FunctionDefinition;
use crate::tool::{ChildEnv, DynTool, OnInterrupt, ToolContext, ToolError, ToolOptions};

/// The most stdout sent to the model, unless `max_output_bytes` says otherwise.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 16 * 1024;
/// The most stderr sent to the model with a failed exit.
const MAX_STDERR_BYTES: usize = 4 * 1024;

/// A `kind = "command"` entry of `agent.toml`.
///
/// `program` is run directly, never through a shell. Each element of `args` is a template that
/// becomes exactly one argv element: `{param}` is replaced by the argument (a string as it is,
/// anything else as JSON), `{{`/`}}` are literal braces, and an element whose placeholder names
/// an absent optional argument is left out. The arguments are also written to the program's
/// stdin as one JSON object. Its stdout (cut to `max_output_bytes`) is the result; a non-zero
/// exit sends its stderr to the model as an error, with the exit status. The program inherits
/// the agent's environment (or, with `inherit_env = false`, only the `pass_env` variables),
/// plus `env`; it never gets the API key (see [`ChildEnv`]). A call that times out or is
/// cancelled kills the program (not processes it started in the background).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandToolSpec {
    /// The function name (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// What the tool does, for the model.
    #[serde(default)]
    pub description: String,
    /// The arguments' JSON Schema; `{"type":"object","properties":{}}` when absent.
    #[serde(default = "no_parameters")]
    pub parameters: Value,
    /// Seconds a call may run (default 30); the agent loop kills the program past it.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Ask the user before each call.
    #[serde(default)]
    pub confirm: bool,
    /// What a barge-in does to a running call.
    #[serde(default)]
    pub on_interrupt: OnInterrupt,
    /// Milliseconds a call may run before the assistant says a short filler ("one moment");
    /// none by default.
    #[serde(default)]
    pub filler_after_ms: Option<u64>,
    /// The program: a name looked up on `PATH`, or a path. Taken literally: the model never
    /// chooses which program runs.
    pub program: String,
    /// Argument templates, one argv element each.
    #[serde(default)]
    pub args: Vec<String>,
    /// The working directory (default: the agent's).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Whether the program inherits the agent's environment (default `true`); `false` gives it
    /// only the `pass_env` variables and `env`.
    #[serde(default = "inherit_by_default")]
    pub inherit_env: bool,
    /// With `inherit_env = false`: the variables copied from the agent's environment.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// Environment variables set for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The most stdout bytes sent to the model (default 16 KiB); the rest is dropped with a note.
    #[serde(default)]
    pub max_output_bytes: Option<usize>,
}

fn inherit_by_default() -> bool {
    true
}

impl CommandToolSpec {
    /// The environment policy this declaration asks for (the API key is withheld on top).
    pub fn child_env(&self) -> ChildEnv {
        let mut env = ChildEnv::inherit()
            .inherit_env(self.inherit_env)
            .pass_env(self.pass_env.iter().cloned());
        for (name, value) in &self.env {
            env = env.env(name.clone(), value.clone());
        }
        env
    }

    /// Resolves a relative `program` path (one with a `/`) and a relative `cwd` against `base`,
    /// the directory of the `agent.toml` that declares them. A bare name stays a `PATH` lookup.
    pub fn relative_to(mut self, base: &Path) -> Self {
        let program = Path::new(&self.program);
        if program.is_relative() && self.program.contains('/') {
            self.program = base.join(program).to_string_lossy().into_owned();
        }
        if let Some(cwd) = self.cwd.as_mut()
            && cwd.is_relative()
        {
            *cwd = base.join(&*cwd);
        }
        self
    }
}

/// Why a command tool's program failed; the model sees the `Display` text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The program does not exist (or is not on `PATH`).
    #[error("program {program:?} was not found")]
    NotFound {
        /// The program as declared.
        program: String,
    },
    /// The program exists but may not be run.
    #[error("program {program:?} could not be run: permission denied")]
    NotExecutable {
        /// The program as declared.
        program: String,
    },
    /// The program could not be started for another reason.
    #[error("program {program:?} could not be started: {source}")]
    Spawn {
        /// The program as declared.
        program: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Talking to the running program failed.
    #[error("reading the program's output failed: {0}")]
    Io(#[from] std::io::Error),
    /// The program exited unsuccessfully.
    #[error("{}", exit_message(*.code, .stderr))]
    Exit {
        /// The exit status, or `None` when a signal ended the program.
        code: Option<i32>,
        /// The program's stderr, cut to 4 KiB.
        stderr: String,
    },
}

fn exit_message(code: Option<i32>, stderr: &str) -> String {
    let status = match code {
        Some(code) => format!("exited with status {code}"),
        None => "was ended by a signal".to_owned(),
    };
    match stderr.trim() {
        "" => format!("the program {status} and wrote nothing to stderr"),
        text => format!("the program {status}: {text}"),
    }
}

/// A declared tool that runs a program (see [`CommandToolSpec`]).
#[derive(Debug, Clone)]
pub struct CommandTool {
    declared: Declared,
    program: String,
    args: Vec<Template>,
    cwd: Option<PathBuf>,
    env: ChildEnv,
    max_output_bytes: usize,
}

impl CommandTool {
    /// Checks the declaration (schema, templates, options) and builds the tool.
    pub fn new(spec: CommandToolSpec) -> Result<Self, SpecError> {
        let declared = Declared::new(CommonSpec {
            name: &spec.name,
            description: &spec.description,
            parameters: &spec.parameters,
            timeout: spec.timeout,
            confirm: spec.confirm,
            on_interrupt: spec.on_interrupt,
            filler_after_ms: spec.filler_after_ms,
        })?;
        let fail = |key: String, message: String| SpecError::new(&spec.name, key, message);
        if spec.program.trim().is_empty() {
            return Err(fail("program".into(), "the program cannot be empty".into()));
        }
        if Template::parse(&spec.program).is_ok_and(|t| t.placeholders().next().is_some()) {
            return Err(fail(
                "program".into(),
                "the program cannot hold placeholders: the model must not choose which program \
                 runs; pass values in `args`"
                    .into(),
            ));
        }
        let mut args = Vec::with_capacity(spec.args.len());
        for (index, text) in spec.args.iter().enumerate() {
            let key = format!("args[{index}]");
            let template = Template::parse(text).map_err(|message| fail(key.clone(), message))?;
            if let Some(unknown) = template
                .placeholders()
                .find(|name| !declared.schema.has_property(name))
            {
                return Err(fail(key, unknown_placeholder(unknown, &declared)));
            }
            args.push(template);
        }
        let env = spec.child_env();
        if let Some((list, index, bad)) = env.invalid_name() {
            let key = match list {
                "env" => format!("env.{bad}"),
                _ => format!("{list}[{index}]"),
            };
            return Err(fail(
                key,
                "an environment variable name cannot be empty or hold `=`".into(),
            ));
        }
        if spec.inherit_env && !spec.pass_env.is_empty() {
            return Err(fail(
                "pass_env".into(),
                "`pass_env` picks what a program gets when it does not inherit the agent's \
                 environment: add inherit_env = false, or remove pass_env"
                    .into(),
            ));
        }
        let max_output_bytes = match spec.max_output_bytes {
            None => DEFAULT_MAX_OUTPUT_BYTES,
            Some(0) => {
                return Err(fail(
                    "max_output_bytes".into(),
                    "must be at least 1 (the output is the tool's result)".into(),
                ));
            }
            Some(bytes) => bytes,
        };
        Ok(CommandTool {
            declared,
            program: spec.program,
            args,
            cwd: spec.cwd,
            env,
            max_output_bytes,
        })
    }

    /// Also withholds the variable `name` (and any variable holding its value) from the
    /// program: the variable `api_key_env` names, for a tool declared in agent.toml.
    pub fn withhold_var(mut self, name: impl Into<String>) -> Self {
        self.env = self.env.withhold_var(name);
        self
    }

    /// The environment policy the program runs with.
    pub fn child_env(&self) -> &ChildEnv {
        &self.env
    }

    /// The argv (after the program) for these validated arguments.
    fn argv(&self, arguments: &serde_json::Map<String, Value>) -> Vec<String> {
        self.args
            .iter()
            .filter_map(|template| template.render(arguments, verbatim))
            .collect()
    }

    fn command(&self, argv: &[String], ctx: &ToolContext) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropping the call (timeout, cancel, session end) kills the program.
            .kill_on_drop(true);
        self.env
            .clone()
            .withhold_from(ctx)
            .apply(command.as_std_mut());
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
    }

    fn spawn_error(&self, error: std::io::Error) -> CommandError {
        let program = self.program.clone();
        match error.kind() {
            std::io::ErrorKind::NotFound => CommandError::NotFound { program },
            std::io::ErrorKind::PermissionDenied => CommandError::NotExecutable { program },
            _ => CommandError::Spawn {
                program,
                source: error,
            },
        }
    }

    async fn run(
        &self,
        argv: &[String],
        stdin_json: String,
        ctx: &ToolContext,
    ) -> Result<String, CommandError> {
        let mut child = self
            .command(argv, ctx)
            .spawn()
            .map_err(|error| self.spawn_error(error))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A program that does not read its stdin may exit first: not an error.
                match stdin.write_all(stdin_json.as_bytes()).await {
                    Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error),
                    _ => Ok(()),
                }
            } else {
                Ok(())
            }
        };
        let limit = self.max_output_bytes;
        let (fed, out, err) = tokio::join!(
            feed,
            read_optional(stdout, limit),
            read_optional(stderr, MAX_STDERR_BYTES)
        );
        fed?;
        let (out, out_total) = out?;
        let (err, err_total) = err?;
        let status = child.wait().await?;
        let stderr = bounded_text(
            &err,
            err_total > err.len() as u64,
            MAX_STDERR_BYTES,
            "stderr",
        );
        if !status.success() {
            return Err(CommandError::Exit {
                code: status.code(),
                stderr,
            });
        }
        if !stderr.is_empty() {
            tracing::debug!(tool = self.declared.name(), %stderr, "command tool wrote to stderr");
        }
        Ok(bounded_text(
            &out,
            out_total > out.len() as u64,
            limit,
            "output",
        ))
    }
}

async fn read_optional<R: tokio::io::AsyncRead + Unpin>(
    reader: Option<R>,
    limit: usize,
) -> std::io::Result<(Vec<u8>, u64)> {
    match reader {
        Some(reader) => read_bounded(reader, limit).await,
        None => Ok((Vec::new(), 0)),
    }
}

pub(super) fn unknown_placeholder(name: &str, declared: &Declared) -> String {
    let names = declared.schema.property_names();
    if names.is_empty() {
        format!("`{{{name}}}` is not a declared parameter (the tool declares none)")
    } else {
        format!(
            "`{{{name}}}` is not a declared parameter (parameters: {})",
            names.join(", ")
        )
    }
}

#[async_trait]
impl DynTool for CommandTool {
    fn name(&self) -> &str {
        self.declared.name()
    }

    fn definition(&self) -> FunctionDefinition {
        self.declared.definition.clone()
    }

    fn options(&self) -> ToolOptions {
        self.declared.options
    }

    async fn call_json(&self, arguments: &str, ctx: ToolContext) -> Result<String, ToolError> {
        let arguments = self.declared.arguments(arguments)?;
        let argv = self.argv(&arguments);
        let stdin_json = Value::Object(arguments).to_string();
        tracing::debug!(
            tool = self.declared.name(),
            program = %self.program,
            ?argv,
            call_id = ctx.call_id(),
            "running command tool"
        );
        tokio::select! {
            biased;
            () = ctx.cancelled() => Err(ToolError::Cancelled),
            result = self.run(&argv, stdin_json, &ctx) => result.map_err(ToolError::failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;
    use crate::ApiKey;

    /// The agent's API key is never passed on to a tool's program, by name or by value.
    #[test]
    fn api_key_is_withheld_from_the_program() {
        let spec: CommandToolSpec = toml::from_str("name = \"t\"\nprogram = \"env\"").unwrap();
        let ctx = ToolContext::standalone("c")
            .with_withheld_secrets(vec![ApiKey::new("sk-not-in-this-environment-42")]);
        let command = CommandTool::new(spec).unwrap().command(&[], &ctx);
        let envs: Vec<_> = command.as_std().get_envs().collect();
        assert!(
            !envs
                .iter()
                .any(|(name, _)| *name == OsStr::new("OPENAI_API_KEY")),
            "{envs:?}"
        );
        assert_eq!(
            envs.len(),
            ChildEnv::inherit().resolve().vars().len(),
            "the environment is set explicitly"
        );
    }
}
