//! The `agent` command: voice control from the terminal.

fn main() {
    println!("usage: agent [--text | --input IN.wav] [--sim] (the full CLI is in progress)");
}
