//! Live progress of an apply: one line per running node with elapsed time and its own status
//! (indicatif) on a terminal; plain timestamped lines otherwise (CI logs, pipes).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::node::ResourceId;
use super::plan::Action;

/// How a step ended, as progress shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum StepEnd {
    Done,
    Failed(String),
}

pub trait Reporter: Send + Sync {
    fn started(&self, id: &ResourceId, action: Action);
    fn status(&self, id: &ResourceId, text: &str);
    fn finished(&self, id: &ResourceId, action: Action, end: &StepEnd, elapsed: Duration);
    /// A line not tied to one node (interrupts, skips).
    fn note(&self, text: &str);
}

pub fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("creating", "created"),
        Action::Update => ("updating", "updated"),
        Action::Replace => ("replacing", "replaced"),
        Action::Delete => ("destroying", "destroyed"),
        Action::Adopt => ("adopting", "adopted"),
        Action::NoOp => ("reading", "unchanged"),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Spinners on a terminal.
pub struct BarReporter {
    multi: MultiProgress,
    bars: Mutex<HashMap<ResourceId, ProgressBar>>,
}

impl BarReporter {
    pub fn new() -> Self {
        BarReporter {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::default(),
        }
    }
}

impl Default for BarReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for BarReporter {
    fn started(&self, id: &ResourceId, action: Action) {
        let style = ProgressStyle::with_template("{spinner} {prefix:.bold} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = self.multi.add(ProgressBar::new_spinner().with_style(style));
        bar.set_prefix(id.to_string());
        bar.set_message(format!("{}…", verb(action).0));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(id.clone(), bar);
        }
    }

    fn status(&self, id: &ResourceId, text: &str) {
        if let Ok(bars) = self.bars.lock()
            && let Some(bar) = bars.get(id)
        {
            bar.set_message(text.to_owned());
        }
    }

    fn finished(&self, id: &ResourceId, action: Action, end: &StepEnd, elapsed: Duration) {
        let bar = self.bars.lock().ok().and_then(|mut b| b.remove(id));
        let line = match end {
            StepEnd::Done => format!(
                "{} {id}: {} after {}",
                console::style("✓").green(),
                verb(action).1,
                secs(elapsed)
            ),
            StepEnd::Failed(e) => format!(
                "{} {id}: failed after {}: {e}",
                console::style("✗").red(),
                secs(elapsed)
            ),
        };
        match bar {
            Some(bar) => {
                bar.finish_and_clear();
                self.multi.remove(&bar);
                let _ = self.multi.println(line);
            }
            None => {
                let _ = self.multi.println(line);
            }
        }
    }

    fn note(&self, text: &str) {
        let _ = self.multi.println(text);
    }
}

/// Timestamped lines, for logs and pipes.
pub struct LineReporter<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> LineReporter<W> {
    pub fn new(out: W) -> Self {
        LineReporter {
            out: Mutex::new(out),
        }
    }

    fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "[{}] {text}", timestamp(SystemTime::now()));
        }
    }
}

impl<W: Write + Send> Reporter for LineReporter<W> {
    fn started(&self, id: &ResourceId, action: Action) {
        self.line(&format!("{id}: {}…", verb(action).0));
    }
    fn status(&self, id: &ResourceId, text: &str) {
        self.line(&format!("{id}: {text}"));
    }
    fn finished(&self, id: &ResourceId, action: Action, end: &StepEnd, elapsed: Duration) {
        match end {
            StepEnd::Done => {
                self.line(&format!("{id}: {} after {}", verb(action).1, secs(elapsed)))
            }
            StepEnd::Failed(e) => self.line(&format!("{id}: failed after {}: {e}", secs(elapsed))),
        }
    }
    fn note(&self, text: &str) {
        self.line(text);
    }
}

/// `HH:MM:SS` UTC: enough to read a log; dates come from the log's own context.
pub fn timestamp(t: SystemTime) -> String {
    let s = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_timestamped_and_say_what_happened() {
        let r = LineReporter::new(Vec::new());
        let id = ResourceId::new("eks.cluster.prod");
        r.started(&id, Action::Create);
        r.status(&id, "CREATING");
        r.finished(
            &id,
            Action::Create,
            &StepEnd::Done,
            Duration::from_millis(1500),
        );
        r.finished(
            &id,
            Action::Delete,
            &StepEnd::Failed("boom".into()),
            Duration::from_secs(2),
        );
        let out = String::from_utf8(r.out.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines
                .iter()
                .all(|l| l.len() > 11 && l.as_bytes()[0] == b'[' && &l[9..11] == "] "),
            "{out}"
        );
        assert!(lines[0].ends_with("eks.cluster.prod: creating…"));
        assert!(lines[1].ends_with("eks.cluster.prod: CREATING"));
        assert!(lines[2].ends_with("eks.cluster.prod: created after 1.5s"));
        assert!(lines[3].ends_with("eks.cluster.prod: failed after 2.0s: boom"));
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(3 * 3600 + 4 * 60 + 5)),
            "03:04:05"
        );
    }
}
