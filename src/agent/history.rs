//! The conversation so far, kept for replay into a new session after a reconnect.

use std::collections::{HashSet, VecDeque};

use crate::protocol::{Dialect, FunctionCallItem, Item};

/// Items in conversation order, trimmed oldest-first to a character budget (about four
/// characters per token). A function call and its output are kept or dropped together, because
/// the API rejects an output whose call is missing.
#[derive(Debug)]
pub(crate) struct History {
    items: VecDeque<Item>,
    /// Call ids of the function calls kept, so that an output finds its call without a scan.
    calls: HashSet<String>,
    chars: usize,
    budget: usize,
}

/// What an item costs of the budget: its text, and a call's name too (it is replayed).
fn size(item: &Item) -> usize {
    let name = match item {
        Item::FunctionCall(c) => c.name.len(),
        _ => 0,
    };
    item.text_len() + name
}

impl History {
    pub(crate) fn new(budget_chars: usize) -> Self {
        History {
            items: VecDeque::new(),
            calls: HashSet::new(),
            chars: 0,
            budget: budget_chars,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.iter()
    }

    pub(crate) fn user_text(&mut self, text: &str) {
        if !text.trim().is_empty() {
            self.push(Item::user_text(text));
        }
    }

    pub(crate) fn assistant_text(&mut self, text: &str, dialect: Dialect) {
        if !text.trim().is_empty() {
            self.push(Item::assistant_text(text, dialect));
        }
    }

    pub(crate) fn function_call(&mut self, call_id: &str, name: &str, arguments: &str) {
        self.push(Item::FunctionCall(FunctionCallItem {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
            ..FunctionCallItem::default()
        }));
    }

    pub(crate) fn function_output(&mut self, call_id: &str, output: &str) {
        // Only when its call is still here: otherwise the output would be rejected on replay.
        if self.calls.contains(call_id) {
            self.push(Item::function_call_output(call_id, output));
        }
    }

    fn push(&mut self, item: Item) {
        self.chars += size(&item);
        if let Item::FunctionCall(call) = &item {
            self.calls.insert(call.call_id.clone());
        }
        self.items.push_back(item);
        while self.chars > self.budget && self.items.len() > 1 {
            let Some(oldest) = self.items.pop_front() else {
                break;
            };
            self.chars -= size(&oldest);
            if let Item::FunctionCall(call) = &oldest {
                let id = call.call_id.clone();
                self.calls.remove(&id);
                let before = self.items.len();
                self.items
                    .retain(|i| !matches!(i, Item::FunctionCallOutput(o) if o.call_id == id));
                if self.items.len() != before {
                    self.recount();
                }
            }
        }
    }

    fn recount(&mut self) {
        self.chars = self.items.iter().map(size).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_oldest_first_and_keeps_calls_with_outputs() {
        let mut history = History::new(40);
        history.user_text("what is the weather");
        history.function_call("call_1", "weather", "{}");
        history.function_output("call_1", "sunny, 20 degrees");
        // 19 + 9 + 17 = 45 > 40: the user text goes.
        history.assistant_text("It is sunny.", Dialect::Ga);
        let kinds: Vec<&str> = history.items().map(Item::kind).collect();
        assert_eq!(kinds, ["function_call", "function_call_output", "message"]);
        // 9 + 17 + 12 + 10 = 48 > 40: the call goes, and its output with it.
        history.user_text("thank you!");
        let kinds: Vec<&str> = history.items().map(Item::kind).collect();
        assert_eq!(kinds, ["message", "message"]);
        assert_eq!(history.chars, 22);
    }

    #[test]
    fn output_without_its_call_is_not_kept() {
        let mut history = History::new(1000);
        history.function_output("call_x", "orphan");
        assert_eq!(history.len(), 0);
    }
}
