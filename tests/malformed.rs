//! The malformed corpus: every case in `tests/malformed/<case>/` must fail to load with the
//! diagnostics its `expect` file lists.
//!
//! `expect` format: a first line `profile: <name>`, then one line per expected diagnostic,
//! `<file>:<line>:<column> | <substring of the printed diagnostic>` (`\n` for a line break). Set `ALPAKA_DUMP=1` to
//! print what each case actually reports.

use std::path::{Path, PathBuf};

use alpaka::config;

struct Expect {
    profile: String,
    lines: Vec<(String, String)>,
}

fn parse_expect(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).expect("expect file");
    let mut profile = String::from("p");
    let mut lines = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        if let Some(p) = line.strip_prefix("profile:") {
            profile = p.trim().to_owned();
        } else if let Some((loc, sub)) = line.split_once(" | ") {
            lines.push((loc.trim().to_owned(), sub.trim().replace("\\n", "\n")));
        } else {
            panic!("{}: bad expect line {line:?}", path.display());
        }
    }
    Expect { profile, lines }
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn corpus_is_large_enough() {
    assert!(cases().len() >= 30, "only {} cases", cases().len());
}

#[test]
fn every_malformed_case_reports_located_errors() {
    let dump = std::env::var_os("ALPAKA_DUMP").is_some();
    let mut failures = Vec::new();
    for case in cases() {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let expect = parse_expect(&case.join("expect"));
        let result = config::load(&case, &expect.profile);
        let diags = match result {
            Ok(_) => {
                failures.push(format!("{name}: loaded without errors"));
                continue;
            }
            Err(d) => d,
        };
        if dump {
            println!("=== {name}\n{diags}\n");
        }
        assert!(diags.has_errors(), "{name}: Err without errors");
        if expect.lines.is_empty() {
            failures.push(format!("{name}: expect file lists no diagnostics"));
        }
        for (loc, sub) in &expect.lines {
            let hit = diags
                .iter()
                .any(|d| &d.location() == loc && d.to_string().contains(sub.as_str()));
            if !hit {
                failures.push(format!(
                    "{name}: no diagnostic at {loc} containing {sub:?}; got:\n{diags}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
