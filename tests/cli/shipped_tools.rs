//! The programs in tools/ that the shipped agent.toml declares: they work, and they treat
//! their arguments as data (nothing the model sends is ever run).

use std::path::Path;
use std::process::{Command, Output};

use super::support::{Scratch, package_dir};

/// Runs tools/`name` with `args` in `dir`.
fn tool(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(package_dir().join("tools").join(name));
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the tool runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Arguments that would run a command if anything evaluated them.
const HOSTILE: &[&str] = &[
    "$(touch PWNED)",
    "`touch PWNED`",
    "1; touch PWNED",
    "system(\"touch PWNED\")",
    "\"; system(\"touch PWNED\"); \"",
    "1 | touch PWNED",
];

/// The calculator computes arithmetic and refuses everything else, running nothing.
#[test]
fn calculator_computes_and_never_evaluates() {
    let scratch = Scratch::new();
    for (expression, result) in [
        ("2 + 3 * 4", "14"),
        ("(2+3)*4", "20"),
        ("12 times 7", "84"),
        ("10 / 4", "2.5"),
        ("2^10", "1024"),
        ("-3^2", "-9"),
        ("sqrt(16) + 1", "5"),
        ("1,234 * 2", "2468"),
        ("7 % 3", "1"),
        ("0.1 + 0.2", "0.3"),
    ] {
        let out = tool(scratch.dir.path(), "calculate", &[expression], &[]);
        assert!(out.status.success(), "{expression}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{result}\n"), "{expression}");
    }
    let out = tool(scratch.dir.path(), "calculate", &["1/0"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "cannot calculate \"1/0\": division by zero\n"
    );
    for hostile in HOSTILE {
        let out = tool(scratch.dir.path(), "calculate", &[hostile], &[]);
        assert_eq!(out.status.code(), Some(2), "{hostile} is refused");
        assert!(!scratch.path("PWNED").exists(), "{hostile} ran something");
    }
}

/// Notes keep the text exactly as data, one line each, and list the latest.
#[test]
fn notes_store_text_as_data() {
    let scratch = Scratch::new();
    let file = scratch.path("notes.txt");
    let env = [("AGENT_NOTES_FILE", file.to_str().unwrap())];
    for hostile in HOSTILE {
        let out = tool(scratch.dir.path(), "notes", &["add", hostile], &env);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = tool(scratch.dir.path(), "notes", &["add", "two\nlines"], &env);
    assert!(out.status.success());
    assert!(!scratch.path("PWNED").exists(), "a note ran something");
    let stored = std::fs::read_to_string(&file).unwrap();
    let notes: Vec<&str> = stored
        .lines()
        .map(|l| l.split_once("  ").expect("a time, two spaces, the note").1)
        .collect();
    let mut expected: Vec<&str> = HOSTILE.to_vec();
    expected.push("two lines");
    assert_eq!(notes, expected);
    let out = tool(scratch.dir.path(), "notes", &["list", "2"], &env);
    assert_eq!(text(&out.stdout).lines().count(), 2);
    assert!(text(&out.stdout).ends_with("  two lines\n"));
    let out = tool(
        scratch.dir.path(),
        "notes",
        &["list", "2; touch PWNED"],
        &env,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = tool(scratch.dir.path(), "notes", &["add", "   "], &env);
    assert_eq!(out.status.code(), Some(2), "an empty note is refused");
}

/// Time zones are checked against the zone names, never evaluated or used as paths outside.
#[test]
fn time_and_date_checks_zone_names() {
    let scratch = Scratch::new();
    let out = tool(scratch.dir.path(), "time-and-date", &[], &[("TZ", "UTC")]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains(" UTC (UTC+00:00)"),
        "{}",
        text(&out.stdout)
    );
    for bad in [
        "../../etc/passwd",
        "/etc/passwd",
        "Europe/Paris; touch PWNED",
        "$(touch PWNED)",
    ] {
        let out = tool(scratch.dir.path(), "time-and-date", &[bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    assert!(!scratch.path("PWNED").exists());
    let out = tool(
        scratch.dir.path(),
        "time-and-date",
        &["Mars/Olympus_Mons"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("unknown time zone: Mars/Olympus_Mons"));
}

/// Only http(s) addresses without spaces are opened; the rest is refused before anything runs.
#[test]
fn open_url_refuses_what_is_not_a_web_address() {
    let scratch = Scratch::new();
    for bad in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://a b",
        "-e https://x",
        "",
    ] {
        let out = tool(scratch.dir.path(), "open-url", &[bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
    }
    // Without xdg-open the user is told what to install.
    std::fs::create_dir(scratch.path("empty-bin")).unwrap();
    let empty_path = scratch.path("empty-bin");
    let out = tool(
        scratch.dir.path(),
        "open-url",
        &["https://example.com/"],
        &[("PATH", empty_path.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        text(&out.stderr),
        "xdg-open is not installed: sudo apt install xdg-utils\n"
    );
    // With it, the address reaches it as one argument, exactly as given.
    std::fs::create_dir(scratch.path("bin")).unwrap();
    let seen = scratch.path("seen.txt");
    scratch.script(
        "bin/xdg-open",
        &format!(
            "#!/bin/sh\nprintf '%s|%s' \"$#\" \"$1\" > {}.tmp && mv {}.tmp {}\n",
            seen.display(),
            seen.display(),
            seen.display()
        ),
    );
    let url = "https://example.com/a?b=$(touch${IFS}PWNED)&c=`id`";
    let path = format!("{}:/usr/bin:/bin", scratch.path("bin").display());
    let out = tool(
        scratch.dir.path(),
        "open-url",
        &[url],
        &[("PATH", &path), ("DISPLAY", ":0")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("opened {url}\n"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), format!("1|{url}"));
    assert!(!scratch.path("PWNED").exists());
}

/// The status report has its lines, read from /proc, /sys and df.
#[test]
fn system_status_reports_the_machine() {
    let scratch = Scratch::new();
    let out = tool(scratch.dir.path(), "system-status", &[], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    for prefix in ["host: ", "up: ", "load: ", "memory: ", "disk /: "] {
        assert!(
            report.lines().any(|l| l.starts_with(prefix)),
            "no {prefix:?} line in {report}"
        );
    }
}
