//! The environment variables agent.toml names as holding secrets: the API key's
//! (`api_key_env`), MCP bearer tokens (`[[mcp]] bearer_token_env`), hosted MCP authorizations
//! (`[[tools]] authorization_env`) and the server's (`[serve] token_env`,
//! `twilio_auth_token_env`, `openai_webhook_secret_env`).
//!
//! No program the agent starts (command tools, stdio MCP servers) gets one of them, by name or by
//! value, and the CLI's log redactor masks their values. They are found before the sections that
//! use them are checked, so that every `[[tools]]` entry is built knowing all of them.

use toml::de::{DeTable, DeValue};

use crate::secret::ApiKey;

/// A variable that holds a secret, and the setting of agent.toml that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVar {
    /// The variable's name, e.g. `TWILIO_AUTH_TOKEN`.
    pub name: String,
    /// The setting that names it, e.g. `serve.twilio_auth_token_env` or `mcp[0].bearer_token_env`.
    pub setting: String,
}

impl SecretVar {
    /// The secret's value, when the variable is set (and not empty).
    pub fn value(&self) -> Option<ApiKey> {
        ApiKey::from_env(&self.name)
    }
}

/// The secret variables `root` names; the API key's (`key_var`) first. Entries that are not
/// strings are left to the sections' own checks, which report them.
pub(crate) fn find(root: &DeTable<'_>, key_var: &str) -> Vec<SecretVar> {
    let mut found = vec![SecretVar {
        name: key_var.to_owned(),
        setting: "agent.api_key_env".to_owned(),
    }];
    let mut add = |name: &str, setting: String| {
        if !name.is_empty() && !found.iter().any(|s| s.name == name) {
            found.push(SecretVar {
                name: name.to_owned(),
                setting,
            });
        }
    };
    if let Some(DeValue::Table(serve)) = root.get("serve").map(|v| v.get_ref()) {
        for key in [
            "token_env",
            "twilio_auth_token_env",
            "openai_webhook_secret_env",
        ] {
            if let Some(DeValue::String(name)) = serve.get(key).map(|v| v.get_ref()) {
                add(name, format!("serve.{key}"));
            }
        }
    }
    for (section, key) in [("mcp", "bearer_token_env"), ("tools", "authorization_env")] {
        let Some(DeValue::Array(entries)) = root.get(section).map(|v| v.get_ref()) else {
            continue;
        };
        for (index, entry) in entries.iter().enumerate() {
            if let DeValue::Table(table) = entry.get_ref()
                && let Some(DeValue::String(name)) = table.get(key).map(|v| v.get_ref())
            {
                add(name, format!("{section}[{index}].{key}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        let root = DeTable::parse(text).unwrap();
        find(root.get_ref(), "OPENAI_API_KEY")
            .into_iter()
            .map(|s| (s.name, s.setting))
            .collect()
    }

    #[test]
    fn every_secret_setting_is_found_once_in_order() {
        let found = names(
            "[serve]\ntoken_env = \"PAGE\"\ntwilio_auth_token_env = \"TW\"\n\
             openai_webhook_secret_env = \"WH\"\n\n\
             [[mcp]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/mcp\"\nbearer_token_env = \"MCP_A\"\n\n\
             [[mcp]]\nname = \"b\"\ncommand = \"b\"\n\n\
             [[mcp]]\nname = \"c\"\nurl = \"http://127.0.0.1:2/mcp\"\nbearer_token_env = \"PAGE\"\n\n\
             [[tools]]\nkind = \"hosted_mcp\"\nserver_label = \"d\"\nauthorization_env = \"HOSTED\"\n",
        );
        let expected = [
            ("OPENAI_API_KEY", "agent.api_key_env"),
            ("PAGE", "serve.token_env"),
            ("TW", "serve.twilio_auth_token_env"),
            ("WH", "serve.openai_webhook_secret_env"),
            ("MCP_A", "mcp[0].bearer_token_env"),
            ("HOSTED", "tools[0].authorization_env"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn values_that_are_not_names_are_left_to_their_sections() {
        assert_eq!(
            names("[serve]\ntoken_env = 3\n\n[[mcp]]\nbearer_token_env = [\"X\"]\n"),
            [("OPENAI_API_KEY".to_owned(), "agent.api_key_env".to_owned())]
        );
    }
}
