//! What an MCP server is to the agent: how to reach it and how its tools are offered. Pure data;
//! `[[mcp]]` in `agent.toml` and [`AgentBuilder::mcp_server`](crate::agent::AgentBuilder::mcp_server)
//! both produce it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::tool::{DEFAULT_TIMEOUT, OnInterrupt};

/// How the agent reaches an MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpTransport {
    /// A program the agent starts, speaking MCP on its stdin and stdout. No shell is involved.
    Stdio {
        /// The program (a path, or a name looked up in `PATH`).
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Extra environment variables for it (the agent's environment, less the API key, plus
        /// these).
        env: BTreeMap<String, String>,
    },
    /// A server already running, reached over MCP's streamable HTTP transport.
    Http {
        /// The endpoint, e.g. `http://127.0.0.1:3001/mcp`.
        url: String,
        /// The environment variable whose value is sent as `Authorization: Bearer …`.
        bearer_token_env: Option<String>,
    },
}

/// Which calls of a server's tools wait for the user's approval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum McpConfirm {
    /// None (the default).
    #[default]
    Never,
    /// Every call.
    Always,
    /// Calls of these tools (their names on the server, without the prefix).
    Tools(Vec<String>),
}

impl McpConfirm {
    /// Whether a call of the server's tool `name` needs approval.
    pub fn applies_to(&self, name: &str) -> bool {
        match self {
            McpConfirm::Never => false,
            McpConfirm::Always => true,
            McpConfirm::Tools(names) => names.iter().any(|n| n == name),
        }
    }
}

/// An MCP server whose tools the agent offers the model: `McpServer::stdio("npx").args([…])` or
/// `McpServer::http(url)`, then the options below. The same settings as an `[[mcp]]` entry of
/// `agent.toml`.
///
/// ```
/// use std::time::Duration;
/// use realtime_agent::mcp::McpServer;
///
/// let server = McpServer::stdio("npx")
///     .args(["-y", "@modelcontextprotocol/server-everything"])
///     .name("everything")
///     .tools(["echo", "add"])
///     .prefix("everything_")
///     .timeout(Duration::from_secs(10));
/// assert_eq!(server.server_name(), "everything");
/// assert_eq!(server.model_name("echo"), "everything_echo");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct McpServer {
    name: String,
    transport: McpTransport,
    tools: Option<Vec<String>>,
    prefix: String,
    confirm: McpConfirm,
    timeout: Duration,
    on_interrupt: OnInterrupt,
    origin: Option<String>,
    withheld: Vec<String>,
}

impl McpServer {
    /// A server started as `command` (no shell), speaking MCP over stdio. Its name defaults to
    /// the program's file name.
    pub fn stdio(command: impl Into<String>) -> McpServer {
        let command = command.into();
        let name = std::path::Path::new(&command)
            .file_stem()
            .map_or_else(|| command.clone(), |s| s.to_string_lossy().into_owned());
        McpServer::new(
            name,
            McpTransport::Stdio {
                command,
                args: Vec::new(),
                env: BTreeMap::new(),
            },
        )
    }

    /// A server reached over streamable HTTP at `url`. Its name defaults to the URL's host.
    pub fn http(url: impl Into<String>) -> McpServer {
        let url = url.into();
        let name = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| url.clone());
        McpServer::new(
            name,
            McpTransport::Http {
                url,
                bearer_token_env: None,
            },
        )
    }

    fn new(name: String, transport: McpTransport) -> McpServer {
        McpServer {
            name,
            transport,
            tools: None,
            prefix: String::new(),
            confirm: McpConfirm::Never,
            timeout: DEFAULT_TIMEOUT,
            on_interrupt: OnInterrupt::Keep,
            origin: None,
            withheld: Vec::new(),
        }
    }

    /// The name shown in `agent tools`, logs and errors.
    pub fn name(mut self, name: impl Into<String>) -> McpServer {
        self.name = name.into();
        self
    }

    /// The program's arguments (stdio only; ignored for HTTP).
    pub fn args<I, S>(mut self, args: I) -> McpServer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let McpTransport::Stdio { args: own, .. } = &mut self.transport {
            *own = args.into_iter().map(Into::into).collect();
        }
        self
    }

    /// One extra environment variable for the program (stdio only; ignored for HTTP).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> McpServer {
        if let McpTransport::Stdio { env, .. } = &mut self.transport {
            env.insert(key.into(), value.into());
        }
        self
    }

    /// The environment variable holding a bearer token for the `Authorization` header (HTTP
    /// only; ignored for stdio).
    pub fn bearer_token_env(mut self, var: impl Into<String>) -> McpServer {
        if let McpTransport::Http {
            bearer_token_env, ..
        } = &mut self.transport
        {
            *bearer_token_env = Some(var.into());
        }
        self
    }

    /// Offers only these of the server's tools (default: all).
    pub fn tools<I, S>(mut self, tools: I) -> McpServer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Prepended to the names the model sees (`"everything_"` makes `echo` `everything_echo`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> McpServer {
        self.prefix = prefix.into();
        self
    }

    /// Which calls wait for the user's approval.
    pub fn confirm(mut self, confirm: McpConfirm) -> McpServer {
        self.confirm = confirm;
        self
    }

    /// The longest one call may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> McpServer {
        self.timeout = timeout;
        self
    }

    /// What a barge-in does to a running call: `Keep` (default) or `Cancel`, which sends MCP's
    /// `notifications/cancelled` for the request.
    pub fn on_interrupt(mut self, on_interrupt: OnInterrupt) -> McpServer {
        self.on_interrupt = on_interrupt;
        self
    }

    /// Where the server was declared (`agent.toml:12:1`), for error messages.
    pub fn origin(mut self, origin: impl Into<String>) -> McpServer {
        self.origin = Some(origin.into());
        self
    }

    /// Never hands the variable `name` (nor any variable holding its value) to a stdio server:
    /// the variable that holds the API key when it is not `OPENAI_API_KEY` (withheld always).
    pub fn withhold_var(mut self, name: impl Into<String>) -> McpServer {
        let name = name.into();
        if !self.withheld.contains(&name) {
            self.withheld.push(name);
        }
        self
    }

    /// The environment a stdio server's program gets: the agent's, less the API key (by name
    /// and by value, see [`ChildEnv`](crate::tool::ChildEnv)), plus `env`.
    pub fn child_env(&self) -> crate::tool::ChildEnv {
        let mut env = crate::tool::ChildEnv::inherit();
        for name in &self.withheld {
            env = env.withhold_var(name.clone());
        }
        if let McpTransport::Stdio { env: set, .. } = &self.transport {
            for (name, value) in set {
                env = env.env(name.clone(), value.clone());
            }
        }
        env
    }

    /// The server's name.
    pub fn server_name(&self) -> &str {
        &self.name
    }

    /// How it is reached.
    pub fn transport(&self) -> &McpTransport {
        &self.transport
    }

    /// The tools offered, when limited.
    pub fn tool_filter(&self) -> Option<&[String]> {
        self.tools.as_deref()
    }

    /// The prefix of the names the model sees.
    pub fn name_prefix(&self) -> &str {
        &self.prefix
    }

    /// Which calls wait for approval.
    pub fn confirmation(&self) -> &McpConfirm {
        &self.confirm
    }

    /// The timeout per call.
    pub fn call_timeout(&self) -> Duration {
        self.timeout
    }

    /// The barge-in behaviour of its calls.
    pub fn interrupt_behaviour(&self) -> OnInterrupt {
        self.on_interrupt
    }

    /// Where it was declared, when known.
    pub fn declared_at(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether the server's tool `name` is offered.
    pub fn offers(&self, name: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|tools| tools.iter().any(|t| t == name))
    }

    /// The name the model sees for the server's tool `name`.
    pub fn model_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `MCP server "everything" (agent.toml:12:1)`, for messages.
    pub fn describe(&self) -> String {
        match &self.origin {
            Some(origin) => format!("MCP server {:?} ({origin})", self.name),
            None => format!("MCP server {:?}", self.name),
        }
    }
}
