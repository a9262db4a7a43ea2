//! `[agents.NAME]`: the agents the conversation can be handed to, and the handoff graph
//! (`handoffs` of `[agent]` and of each of them), checked against the declared tools and voices.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Source};
use super::keys;
use super::sections::AgentSection;
use super::tools::ConfigTool;

/// The name of the starting agent, `[agent]`, in `handoffs` lists and in `agent check`.
pub const STARTING_AGENT: &str = "agent";

/// `[agents.NAME]`: an agent the conversation can be handed to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentEntry {
    /// Its name (`NAME`); the model hands to it by calling `transfer_to_NAME`.
    pub name: String,
    /// Its instructions.
    pub instructions: Option<String>,
    /// The names of the declared `[[tools]]` it has.
    pub tools: Vec<String>,
    /// The agents it may hand to (`agent` is the starting one).
    pub handoffs: Vec<String>,
    /// Its voice, which must be the session's: the voice cannot change once audio has been
    /// produced.
    pub voice: Option<String>,
}

/// Reads `[agents.*]` in file order and checks every name, tool and voice.
pub(crate) fn load(
    source: &Source<'_>,
    root: &DeTable<'_>,
    agent: &AgentSection,
    tools: &[ConfigTool],
) -> Result<Vec<AgentEntry>, ConfigError> {
    let mut entries: Vec<(AgentEntry, &DeTable<'_>)> = Vec::new();
    if let Some(value) = root.get("agents") {
        let table = keys::as_table(source, value, "agents")?;
        let mut names: Vec<_> = table.iter().collect();
        names.sort_by_key(|(name, _)| name.span().start);
        for (name, value) in names {
            let name: &str = name.get_ref();
            let path = format!("agents.{name}");
            let fields = keys::as_table(source, value, &path)?;
            keys::check(
                source,
                fields,
                &path,
                &format!("[{path}]"),
                keys::AGENT_ENTRY,
                |_| None,
            )?;
            check_name(source, name, value.span(), &path)?;
            let entry = AgentEntry {
                name: name.to_owned(),
                instructions: string(source, fields, &path, "instructions")?,
                tools: strings(source, fields, &path, "tools")?,
                handoffs: strings(source, fields, &path, "handoffs")?,
                voice: string(source, fields, &path, "voice")?,
            };
            entries.push((entry, fields));
        }
    }
    let start = top_table(root, "agent");
    let known: Vec<&str> = std::iter::once(STARTING_AGENT)
        .chain(entries.iter().map(|(e, _)| e.name.as_str()))
        .collect();
    let declared: Vec<&str> = tools.iter().map(ConfigTool::name).collect();

    // Tools: names of declared [[tools]].
    if let (Some(names), Some(table)) = (&agent.tools, start) {
        check_tools(source, table, "agent", names, &declared)?;
    }
    for (entry, fields) in &entries {
        check_tools(
            source,
            fields,
            &format!("agents.{}", entry.name),
            &entry.tools,
            &declared,
        )?;
    }

    // Handoffs: names of agents, each edge between agents of one voice.
    let voice_of = |name: &str| -> Option<&str> {
        entries
            .iter()
            .find(|(e, _)| e.name == name)
            .and_then(|(e, _)| e.voice.as_deref())
            .or(agent.voice.as_deref())
    };
    let edges = std::iter::once((
        STARTING_AGENT,
        agent.handoffs.as_deref().unwrap_or(&[]),
        start,
    ))
    .chain(
        entries
            .iter()
            .map(|(e, t)| (e.name.as_str(), e.handoffs.as_slice(), Some(*t))),
    );
    for (from, targets, table) in edges {
        let path = if from == STARTING_AGENT {
            STARTING_AGENT.to_owned()
        } else {
            format!("agents.{from}")
        };
        for (index, target) in targets.iter().enumerate() {
            let span = table.and_then(|t| element_span(t, "handoffs", index));
            if !known.contains(&target.as_str()) {
                let near = keys::nearest(target, &known)
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Err(source.invalid(
                    span,
                    &format!("{path}.handoffs[{index}]"),
                    format!(
                        "there is no agent named {target:?}: {near}declare it as [agents.{target}] \
                         (agents: {})",
                        known.join(", ")
                    ),
                ));
            }
            if target == from {
                return Err(source.invalid(
                    span,
                    &format!("{path}.handoffs[{index}]"),
                    format!("{from} cannot hand the conversation to itself"),
                ));
            }
            let (theirs, ours) = (voice_of(target), voice_of(from));
            if theirs != ours {
                let target_table = entries
                    .iter()
                    .find(|(e, _)| &e.name == target)
                    .map(|(_, t)| *t);
                let (at, key) = match target_table.and_then(|t| t.get("voice")) {
                    Some(voice) => (Some(voice.span()), format!("agents.{target}.voice")),
                    None => (
                        table.and_then(|t| t.get("voice")).map(Spanned::span),
                        format!("{path}.voice"),
                    ),
                };
                let show = |v: Option<&str>| {
                    v.map_or_else(|| "the server's default".to_owned(), |v| format!("{v:?}"))
                };
                return Err(source.invalid(
                    at,
                    &key,
                    format!(
                        "{from} (voice {}) hands off to {target} (voice {}), but the voice cannot \
                         change once audio has been produced (a Realtime API rule): agents that \
                         hand off to each other share the session's voice; give them the same \
                         `voice` or leave it out of [agents.*] to use [agent]'s",
                        show(ours),
                        show(theirs)
                    ),
                ));
            }
        }
    }
    Ok(entries.into_iter().map(|(e, _)| e).collect())
}

/// An agent's name becomes part of a tool name (`transfer_to_NAME`) and cannot be `agent`.
fn check_name(
    source: &Source<'_>,
    name: &str,
    span: Range<usize>,
    path: &str,
) -> Result<(), ConfigError> {
    let problem = if name == STARTING_AGENT {
        "the starting agent is [agent]; give this agent another name".to_owned()
    } else if name.is_empty()
        || name.len() > 64 - super::super::agent::TRANSFER_PREFIX.len()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!(
            "{name:?} cannot name an agent: its handoff tool is transfer_to_{name}, so use up to \
             52 letters, digits, _ or -"
        )
    } else {
        return Ok(());
    };
    Err(source.invalid(Some(span), path, problem))
}

fn check_tools(
    source: &Source<'_>,
    table: &DeTable<'_>,
    path: &str,
    names: &[String],
    declared: &[&str],
) -> Result<(), ConfigError> {
    for (index, name) in names.iter().enumerate() {
        if declared.contains(&name.as_str()) {
            continue;
        }
        let near = keys::nearest(name, declared)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        let list = if declared.is_empty() {
            "none".to_owned()
        } else {
            declared.join(", ")
        };
        return Err(source.invalid(
            element_span(table, "tools", index),
            &format!("{path}.tools[{index}]"),
            format!("no tool named {name:?} is declared in [[tools]]{near} (declared: {list})"),
        ));
    }
    Ok(())
}

/// The top-level table `name`, when it is one.
fn top_table<'a, 'i>(root: &'a DeTable<'i>, name: &str) -> Option<&'a DeTable<'i>> {
    match root.get(name).map(Spanned::get_ref) {
        Some(DeValue::Table(table)) => Some(table),
        _ => None,
    }
}

/// The span of element `index` of the array at `key`.
fn element_span(table: &DeTable<'_>, key: &str, index: usize) -> Option<Range<usize>> {
    match table.get(key)?.get_ref() {
        DeValue::Array(items) => items.get(index).map(Spanned::span),
        _ => table.get(key).map(Spanned::span),
    }
}

fn string(
    source: &Source<'_>,
    table: &DeTable<'_>,
    path: &str,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = table.get(key) else {
        return Ok(None);
    };
    match value.get_ref().as_str() {
        Some(text) => Ok(Some(text.to_owned())),
        None => Err(source.invalid(
            Some(value.span()),
            &format!("{path}.{key}"),
            format!(
                "expected a string (in quotes), found {}",
                value.get_ref().type_str()
            ),
        )),
    }
}

fn strings(
    source: &Source<'_>,
    table: &DeTable<'_>,
    path: &str,
    key: &str,
) -> Result<Vec<String>, ConfigError> {
    let Some(value) = table.get(key) else {
        return Ok(Vec::new());
    };
    let wrong = |span: Range<usize>, found: &str| {
        source.invalid(
            Some(span),
            &format!("{path}.{key}"),
            format!("expected a list of names, such as [\"billing\"], found {found}"),
        )
    };
    let DeValue::Array(items) = value.get_ref() else {
        return Err(wrong(value.span(), value.get_ref().type_str()));
    };
    items
        .iter()
        .map(|item| {
            item.get_ref()
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong(item.span(), item.get_ref().type_str()))
        })
        .collect()
}

/// The handoff graph, one line per agent: `agent -> billing, support`.
pub(crate) fn graph(agent: &AgentSection, entries: &[AgentEntry]) -> Vec<String> {
    std::iter::once((STARTING_AGENT, agent.handoffs.as_deref().unwrap_or(&[])))
        .chain(
            entries
                .iter()
                .map(|e| (e.name.as_str(), e.handoffs.as_slice())),
        )
        .map(|(from, to)| {
            let to = if to.is_empty() {
                "(none)".to_owned()
            } else {
                to.join(", ")
            };
            format!("{from} -> {to}")
        })
        .collect()
}
