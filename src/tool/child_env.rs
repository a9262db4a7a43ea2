//! What a program the agent starts sees of the agent's environment: [`ChildEnv`], one policy for
//! every child (command tools, stdio MCP servers).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;

use crate::secret::ApiKey;
use crate::tool::ToolContext;

/// Never handed to a child, whatever the policy says: the API key is the agent's.
pub const ALWAYS_WITHHELD: &[&str] = &["OPENAI_API_KEY"];

/// Shorter secrets are not matched by value: a one-letter "key" would strip every variable
/// that holds that letter.
const MIN_SECRET_LEN: usize = 8;

/// The environment of a program the agent starts.
///
/// Either the agent's whole environment ([`ChildEnv::inherit`], the default) or only the
/// variables named with [`pass_env`](ChildEnv::pass_env) ([`ChildEnv::clean`]); then the values
/// set with [`env`](ChildEnv::env). Whatever that gives, the program never gets:
///
/// - `OPENAI_API_KEY`, nor a variable named with [`withhold_var`](ChildEnv::withhold_var) (the
///   variable `api_key_env` names);
/// - any variable whose value contains a secret: the value of a withheld variable, or one given
///   to [`withhold_secret`](ChildEnv::withhold_secret) or
///   [`withhold_from`](ChildEnv::withhold_from) (the key the agent connects with, a minted
///   ephemeral secret), whatever the variable's name.
///
/// [`apply`](ChildEnv::apply) clears the command's environment and sets exactly what
/// [`resolve`](ChildEnv::resolve) computes, so with `inherit_env = false` the program gets
/// exactly the passed variables that are set, plus `env`: on Linux and macOS the operating
/// system adds nothing (an interpreter the program starts may, e.g. a shell adds `PWD`). A bare
/// program name is looked up on the child's `PATH` when it gets one, else on the agent's.
///
/// `Debug` shows names only, never values.
///
/// ```
/// use realtime_agent::tool::ChildEnv;
///
/// let env = ChildEnv::clean()
///     .pass_env(["PATH", "HOME"])
///     .env("LANG", "C.UTF-8")
///     .withhold_var("MY_KEY");
/// let resolved = env.resolve_from([
///     ("PATH".into(), "/usr/bin".into()),
///     ("MY_KEY".into(), "sk-planted-0123456789".into()),
///     ("COPY".into(), "sk-planted-0123456789".into()),
///     ("TERM".into(), "xterm".into()),
/// ]);
/// assert_eq!(resolved.names(), ["LANG", "PATH"]);
/// assert_eq!(resolved.unset(), ["HOME"]);
/// ```
#[derive(Clone)]
pub struct ChildEnv {
    inherit: bool,
    pass: Vec<String>,
    set: BTreeMap<String, String>,
    withheld_vars: BTreeSet<String>,
    secrets: Vec<ApiKey>,
}

impl Default for ChildEnv {
    fn default() -> Self {
        ChildEnv::inherit()
    }
}

impl ChildEnv {
    /// The agent's whole environment, less the withheld variables and secrets.
    pub fn inherit() -> Self {
        ChildEnv {
            inherit: true,
            pass: Vec::new(),
            set: BTreeMap::new(),
            withheld_vars: ALWAYS_WITHHELD.iter().map(|&n| n.to_owned()).collect(),
            secrets: Vec::new(),
        }
    }

    /// Nothing of the agent's environment but what [`pass_env`](ChildEnv::pass_env) names.
    pub fn clean() -> Self {
        ChildEnv {
            inherit: false,
            ..ChildEnv::inherit()
        }
    }

    /// Whether the agent's environment is inherited (`inherit_env` in agent.toml).
    pub fn inherit_env(mut self, inherit: bool) -> Self {
        self.inherit = inherit;
        self
    }

    /// Variables copied from the agent's environment when it is not inherited (`pass_env`).
    /// Unset ones are left out.
    pub fn pass_env<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.pass.extend(names.into_iter().map(Into::into));
        self
    }

    /// Sets `name` to `value` in the child (`env`), over any inherited value.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set.insert(name.into(), value.into());
        self
    }

    /// Never hands `name` to the child, nor any variable holding its value (the variable that
    /// holds the API key).
    pub fn withhold_var(mut self, name: impl Into<String>) -> Self {
        self.withheld_vars.insert(name.into());
        self
    }

    /// Never hands the child a variable whose value contains `secret`.
    pub fn withhold_secret(mut self, secret: ApiKey) -> Self {
        if !self.secrets.contains(&secret) {
            self.secrets.push(secret);
        }
        self
    }

    /// Withholds the secrets of the session `ctx` belongs to (the key the agent connects with).
    pub fn withhold_from(mut self, ctx: &ToolContext) -> Self {
        for secret in ctx.withheld_secrets() {
            self = self.withhold_secret(secret.clone());
        }
        self
    }

    /// Whether the agent's environment is inherited.
    pub fn inherits(&self) -> bool {
        self.inherit
    }

    /// The names given to [`pass_env`](ChildEnv::pass_env), in order.
    pub fn passed_names(&self) -> &[String] {
        &self.pass
    }

    /// The names given to [`env`](ChildEnv::env), sorted.
    pub fn set_names(&self) -> impl Iterator<Item = &str> {
        self.set.keys().map(String::as_str)
    }

    /// The variables withheld by name, sorted.
    pub fn withheld_names(&self) -> impl Iterator<Item = &str> {
        self.withheld_vars.iter().map(String::as_str)
    }

    /// The first name that cannot be an environment variable (empty, or holding `=` or NUL),
    /// with where it was given: `("pass_env", index)` or `("env", index)`.
    pub fn invalid_name(&self) -> Option<(&'static str, usize, &str)> {
        let bad = |name: &str| name.is_empty() || name.contains(['=', '\0']);
        if let Some((index, name)) = self.pass.iter().enumerate().find(|(_, n)| bad(n)) {
            return Some(("pass_env", index, name));
        }
        self.set
            .keys()
            .enumerate()
            .find(|(_, n)| bad(n))
            .map(|(index, name)| ("env", index, name.as_str()))
    }

    /// The environment the child gets now, from the agent's current environment.
    pub fn resolve(&self) -> ResolvedEnv {
        self.resolve_from(std::env::vars_os())
    }

    /// The environment the child gets when the agent's environment is `parent`.
    pub fn resolve_from<I>(&self, parent: I) -> ResolvedEnv
    where
        I: IntoIterator<Item = (OsString, OsString)>,
    {
        let parent: BTreeMap<OsString, OsString> = parent.into_iter().collect();
        let mut secrets: Vec<Vec<u8>> = self
            .secrets
            .iter()
            .map(|s| s.expose().trim().as_bytes().to_vec())
            .collect();
        for name in &self.withheld_vars {
            if let Some(value) = parent.get(OsStr::new(name)) {
                let value = value.as_encoded_bytes().trim_ascii();
                secrets.push(value.to_vec());
            }
        }
        secrets.retain(|s| s.len() >= MIN_SECRET_LEN);

        let mut chosen: BTreeMap<OsString, OsString> = if self.inherit {
            parent.clone()
        } else {
            self.pass
                .iter()
                .filter_map(|name| {
                    let name = OsString::from(name);
                    parent.get(&name).map(|value| (name, value.clone()))
                })
                .collect()
        };
        let unset = if self.inherit {
            Vec::new()
        } else {
            self.pass
                .iter()
                .filter(|name| !parent.contains_key(OsStr::new(name.as_str())))
                .cloned()
                .collect()
        };
        for (name, value) in &self.set {
            chosen.insert(name.into(), value.into());
        }
        let mut withheld = Vec::new();
        chosen.retain(|name, value| {
            let by_name = name
                .to_str()
                .is_some_and(|name| self.withheld_vars.contains(name));
            let value = value.as_encoded_bytes();
            let by_value = secrets.iter().any(|secret| contains(value, secret));
            if by_name || by_value {
                withheld.push(name.to_string_lossy().into_owned());
            }
            !(by_name || by_value)
        });
        ResolvedEnv {
            vars: chosen.into_iter().collect(),
            withheld,
            unset,
        }
    }

    /// Gives `command` exactly the resolved environment (clearing what it would inherit).
    pub fn apply(&self, command: &mut std::process::Command) {
        let resolved = self.resolve();
        command.env_clear();
        command.envs(resolved.vars);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

impl fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildEnv")
            .field("inherit", &self.inherit)
            .field("pass", &self.pass)
            .field("set", &self.set.keys().collect::<Vec<_>>())
            .field("withheld_vars", &self.withheld_vars)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// A child's environment, computed by [`ChildEnv::resolve`]. `Debug` shows names only.
#[derive(Clone)]
pub struct ResolvedEnv {
    vars: Vec<(OsString, OsString)>,
    withheld: Vec<String>,
    unset: Vec<String>,
}

impl ResolvedEnv {
    /// The variables the child gets, sorted by name.
    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.vars
    }

    /// The names of the variables the child gets, sorted.
    pub fn names(&self) -> Vec<String> {
        self.vars
            .iter()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect()
    }

    /// Variables that would have been passed but were withheld (by name or because their value
    /// holds a secret), sorted.
    pub fn withheld(&self) -> &[String] {
        &self.withheld
    }

    /// `pass_env` names that are not set in the agent's environment.
    pub fn unset(&self) -> &[String] {
        &self.unset
    }
}

impl fmt::Debug for ResolvedEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedEnv")
            .field("names", &self.names())
            .field("withheld", &self.withheld)
            .field("unset", &self.unset)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-planted-0123456789";

    fn parent() -> Vec<(OsString, OsString)> {
        [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("OPENAI_API_KEY", "sk-other-9876543210"),
            ("MY_KEY", KEY),
            ("COPY_OF_KEY", KEY),
            ("AUTH_HEADER", "Bearer sk-planted-0123456789"),
            ("TERM", "xterm"),
        ]
        .into_iter()
        .map(|(n, v)| (n.into(), v.into()))
        .collect()
    }

    /// Inheriting keeps everything but the key variables and any value holding a key.
    #[test]
    fn inherit_withholds_key_variables_and_values() {
        let env = ChildEnv::inherit().withhold_var("MY_KEY").env("EXTRA", "1");
        let resolved = env.resolve_from(parent());
        assert_eq!(resolved.names(), ["EXTRA", "HOME", "PATH", "TERM"]);
        assert_eq!(
            resolved.withheld(),
            ["AUTH_HEADER", "COPY_OF_KEY", "MY_KEY", "OPENAI_API_KEY"]
        );
    }

    /// A secret given by value is withheld whatever the variable's name.
    #[test]
    fn a_secret_given_by_value_is_withheld() {
        let resolved = ChildEnv::inherit()
            .withhold_secret(ApiKey::new(KEY))
            .resolve_from(parent());
        assert_eq!(resolved.names(), ["HOME", "PATH", "TERM"]);
    }

    /// Not inheriting gives exactly the passed variables that are set, plus `env`.
    #[test]
    fn clean_gives_exactly_passed_and_set() {
        let resolved = ChildEnv::clean()
            .pass_env(["PATH", "NOT_SET", "MY_KEY"])
            .env("LANG", "C")
            .withhold_var("MY_KEY")
            .resolve_from(parent());
        assert_eq!(resolved.names(), ["LANG", "PATH"]);
        assert_eq!(resolved.unset(), ["NOT_SET"]);
        assert_eq!(resolved.withheld(), ["MY_KEY"]);
    }

    /// `Debug` shows names, never values.
    #[test]
    fn debug_shows_no_values() {
        let env = ChildEnv::clean()
            .env("TOKEN", "value-123")
            .withhold_secret(ApiKey::new(KEY));
        let text = format!("{env:?} {:?}", env.resolve_from(parent()));
        assert!(!text.contains("value-123") && !text.contains(KEY), "{text}");
        assert!(text.contains("TOKEN"), "{text}");
    }
}
