//! The fake server's conversation: items in order, with an index by id and running tallies, so
//! that long sessions (benchmarks run thousands of turns) stay cheap.

use std::collections::{HashMap, HashSet};

use crate::protocol::Item;

#[derive(Debug, Default)]
pub(crate) struct Conversation {
    items: Vec<Item>,
    index: HashMap<String, usize>,
    calls: HashSet<String>,
    answered: HashSet<String>,
    /// Characters of text in the conversation (for plausible token usage).
    pub(crate) text_chars: usize,
    /// Milliseconds of committed user audio.
    pub(crate) user_audio_ms: u64,
}

impl Conversation {
    pub(crate) fn items(&self) -> &[Item] {
        &self.items
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Item> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    pub(crate) fn last_id(&self) -> Option<String> {
        self.items.last().and_then(|i| i.id().map(str::to_owned))
    }

    /// Whether a function call with `call_id` is in the conversation.
    pub(crate) fn has_call(&self, call_id: &str) -> bool {
        self.calls.contains(call_id)
    }

    /// Call ids of function calls without an output, in order.
    pub(crate) fn unanswered_calls(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::FunctionCall(c) if !self.answered.contains(&c.call_id) => {
                    Some(c.call_id.clone())
                }
                _ => None,
            })
            .collect()
    }

    fn note(&mut self, item: &Item) {
        self.text_chars += item.text_len();
        match item {
            Item::FunctionCall(c) => {
                self.calls.insert(c.call_id.clone());
            }
            Item::FunctionCallOutput(o) => {
                self.answered.insert(o.call_id.clone());
            }
            _ => {}
        }
    }

    pub(crate) fn push(&mut self, item: Item) {
        self.note(&item);
        if let Some(id) = item.id() {
            self.index.insert(id.to_owned(), self.items.len());
        }
        self.items.push(item);
    }

    /// Replaces the item with the same id (a streamed item reaching its final form).
    pub(crate) fn replace(&mut self, item: Item) {
        let Some(&i) = item.id().and_then(|id| self.index.get(id)) else {
            return self.push(item);
        };
        self.text_chars -= self.items[i].text_len().min(self.text_chars);
        self.note(&item);
        self.items[i] = item;
    }

    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let Some(i) = self.index.remove(id) else {
            return false;
        };
        let item = self.items.remove(i);
        self.text_chars -= item.text_len().min(self.text_chars);
        for (n, item) in self.items.iter().enumerate().skip(i) {
            if let Some(id) = item.id() {
                self.index.insert(id.to_owned(), n);
            }
        }
        true
    }
}
