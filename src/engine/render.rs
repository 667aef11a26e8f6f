//! Plans and apply reports for people: terraform's shapes (`+`, `~`, `-/+`, `-`, a count line).
//! Colour is decided by the caller (`console::set_colors_enabled`), never here.

use std::fmt::Write as _;

use console::{Style, style};

use super::apply::{ApplyReport, Outcome};
use super::diff::display_path;
use super::plan::{Action, Change, Plan, Reason};
use super::value::Value;

/// What AWS holds twice (a create carried out twice): each named, with what removes the extra.
fn duplicates_text(s: &mut String, plan: &Plan) {
    for d in &plan.duplicates {
        let _ = writeln!(
            s,
            "{} {} is {} in state; also carrying its id: {} (made twice: a create carried out \
             twice). `alpaka destroy --orphans --target '{}~{}'` removes the extra.\n",
            style("! duplicate:").red().bold(),
            d.id,
            d.recorded,
            d.others.join(", "),
            d.id,
            d.others.first().map(String::as_str).unwrap_or_default()
        );
    }
}

pub fn plan_text(plan: &Plan) -> String {
    let mut s = String::new();
    if !plan.has_changes() {
        duplicates_text(&mut s, plan);
        s.push_str(&format!(
            "{} Everything alpaka manages for profile `{}` matches the configuration.\n",
            style("No changes.").bold().green(),
            plan.profile
        ));
        return s;
    }
    s.push_str("alpaka will perform the following actions:\n\n");
    for c in plan.actions() {
        change_text(&mut s, c);
        s.push('\n');
    }
    duplicates_text(&mut s, plan);
    let sum = plan.summary();
    let adopt = if sum.adopt > 0 {
        format!("{} to adopt, ", sum.adopt)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "{} {adopt}{} to add, {} to change, {} to destroy.",
        style("Plan:").bold(),
        sum.add,
        sum.change,
        sum.destroy
    );
    s
}

fn header(c: &Change) -> String {
    let what = match (c.action, &c.reason) {
        (Action::Create, Some(Reason::DeletedOutOfBand)) => {
            "was deleted outside alpaka and will be created again".to_owned()
        }
        (Action::Create, _) => "will be created".to_owned(),
        (Action::Update, Some(Reason::Drift)) => {
            "changed outside alpaka and will be updated in-place".to_owned()
        }
        (Action::Update, _) => "will be updated in-place".to_owned(),
        (Action::Replace, _) if c.found.is_some() => {
            "was found, made by an earlier run that stopped before recording it, and must be \
             replaced"
                .to_owned()
        }
        (Action::Replace, _) => "must be replaced".to_owned(),
        (Action::Adopt, _) if c.fields.is_empty() => {
            "was found, made by an earlier run that stopped before recording it, and will be \
             adopted"
                .to_owned()
        }
        (Action::Adopt, _) => "was found, made by an earlier run that stopped before recording \
                               it, and will be adopted and updated in-place"
            .to_owned(),
        (Action::Delete, Some(Reason::NotInConfig)) => {
            "will be destroyed (it is no longer in the configuration)".to_owned()
        }
        (Action::Delete, Some(Reason::Orphan)) => {
            "will be destroyed (tagged for this profile, recorded in no state)".to_owned()
        }
        (Action::Delete, _) => "will be destroyed".to_owned(),
        (Action::NoOp, _) => "is unchanged".to_owned(),
    };
    format!("  {} {} {what}", style("#").dim(), style(&c.id).bold())
}

fn symbol(a: Action) -> String {
    match a {
        Action::Create => style("  +").green().to_string(),
        Action::Update => style("  ~").yellow().to_string(),
        Action::Replace => style("-/+").red().to_string(),
        Action::Delete => style("  -").red().to_string(),
        Action::Adopt => style(" <=").cyan().to_string(),
        Action::NoOp => "   ".to_owned(),
    }
}

fn change_text(s: &mut String, c: &Change) {
    let _ = writeln!(s, "{}", header(c));
    let _ = writeln!(s, "{} {} ({})", symbol(c.action), c.id, c.kind);
    match c.action {
        Action::Create => {
            if let Some(Value::Map(m)) = &c.after {
                let mut rows = Vec::new();
                flatten(&mut Vec::new(), &Value::Map(m.clone()), &mut rows);
                let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (k, v) in rows {
                    let _ = writeln!(s, "      {} {k:width$} = {v}", style("+").green());
                }
            }
            if let Some(n) = c.note.as_deref() {
                let _ = writeln!(s, "      {} {n}", style("note:").cyan().bold());
            }
        }
        Action::Update | Action::Replace | Action::Adopt => {
            let width = c
                .fields
                .iter()
                .map(|f| f.path_string().len())
                .max()
                .unwrap_or(0);
            for f in &c.fields {
                let path = f.path_string();
                let (mark, text) = match (f.before.as_ref().map(shown), f.after.as_ref().map(shown))
                {
                    (None, Some(a)) => (style("+").green(), format!("{path:width$} = {a}")),
                    (Some(b), None) => (style("-").red(), format!("{path:width$} = {b} -> null")),
                    (Some(b), Some(a)) => {
                        (style("~").yellow(), format!("{path:width$} = {b} -> {a}"))
                    }
                    (None, None) => continue,
                };
                let forces = if f.forces_replacement {
                    style(" # forces replacement").red().to_string()
                } else {
                    String::new()
                };
                let _ = writeln!(s, "      {mark} {text}{forces}");
            }
            if let Some(w) = c.warning.as_deref().filter(|_| c.action == Action::Replace) {
                let _ = writeln!(s, "      {} {w}", style("! warning:").red().bold());
            }
            if let Some(n) = c.note.as_deref() {
                let _ = writeln!(s, "      {} {n}", style("note:").cyan().bold());
            }
        }
        Action::Delete | Action::NoOp => {}
    }
}

/// Strings longer than this show abbreviated in text plans (a dashboard's JSON; IAM policy
/// documents and scripts are shorter and show whole): their start, size and a digest, so a
/// change still shows as one. `plan --json` keeps them whole.
const LONG: usize = 2000;

/// A value as a text plan shows it.
fn shown(v: &Value) -> String {
    match v {
        Value::Str(text) if text.len() > LONG => {
            use sha2::{Digest, Sha256};
            let start: String = text.chars().take(60).collect();
            let digest = Sha256::digest(text.as_bytes());
            let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!(
                "{:?}… ({} bytes, sha256 {short}…; whole in plan --json)",
                start,
                text.len()
            )
        }
        other => other.to_string(),
    }
}

/// Leaves of a map as `a.b = value` rows; lists and scalars are leaves.
fn flatten(path: &mut Vec<String>, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Map(m) if !m.is_empty() => {
            for (k, x) in m {
                path.push(k.clone());
                flatten(path, x, out);
                path.pop();
            }
        }
        // Unset optional fields say nothing on a create.
        Value::Null => {}
        other => out.push((display_path(path), shown(other))),
    }
}

/// After apply/destroy: what was done, what failed (with the error), what was skipped.
pub fn report_text(report: &ApplyReport, destroy: bool) -> String {
    let mut s = String::new();
    let (mut done, mut failed, mut skipped, mut not_started) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for st in &report.steps {
        match &st.outcome {
            Outcome::Done { .. } => done.push(st),
            Outcome::Failed { error } => failed.push((st, error)),
            Outcome::Skipped { because } => skipped.push((st, because)),
            Outcome::NotStarted => not_started.push(st),
        }
    }
    if !failed.is_empty() {
        let _ = writeln!(s, "\n{}", style("Failed:").red().bold());
        for (st, e) in &failed {
            let _ = writeln!(s, "  {} {}: {e}", style("✗").red(), st.id);
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            style("Skipped (something they wait for failed):")
                .yellow()
                .bold()
        );
        for (st, because) in &skipped {
            let _ = writeln!(s, "  - {} (waits for {because})", st.id);
        }
    }
    if !not_started.is_empty() {
        let _ = writeln!(s, "\n{}", style("Not started:").yellow().bold());
        for st in &not_started {
            let _ = writeln!(s, "  - {}", st.id);
        }
    }
    if let Some(e) = &report.state_error {
        let _ = writeln!(
            s,
            "\n{} {e}",
            style("State could not be written:").red().bold()
        );
    }
    let count = |a: &[Action]| done.iter().filter(|st| a.contains(&st.action)).count();
    let line = if destroy {
        format!("{} destroyed", count(&[Action::Delete]))
    } else {
        let adopted = count(&[Action::Adopt]);
        format!(
            "{}{} added, {} changed, {} destroyed",
            if adopted > 0 {
                format!("{adopted} adopted, ")
            } else {
                String::new()
            },
            count(&[Action::Create, Action::Replace]),
            count(&[Action::Update]),
            count(&[Action::Delete, Action::Replace])
        )
    };
    let (word, colour) = if report.succeeded() {
        (
            if destroy {
                "Destroy complete!"
            } else {
                "Apply complete!"
            },
            Style::new().green(),
        )
    } else if report.interrupted {
        ("Interrupted.", Style::new().yellow())
    } else {
        (
            if destroy {
                "Destroy failed."
            } else {
                "Apply failed."
            },
            Style::new().red(),
        )
    };
    let extra = if failed.is_empty() && skipped.is_empty() && not_started.is_empty() {
        String::new()
    } else {
        format!(
            "; {} failed, {} skipped, {} not started",
            failed.len(),
            skipped.len(),
            not_started.len()
        )
    };
    let _ = writeln!(
        s,
        "\n{} Resources: {line}{extra}.",
        colour.apply_to(word).bold()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_show_their_start_size_and_digest() {
        let dashboard = format!("{{\"panels\": [{}]}}", "1,".repeat(1500));
        let text = shown(&Value::Str(dashboard.clone()));
        assert!(text.starts_with(r#""{\"panels\": [1,1,"#), "{text}");
        assert!(
            text.contains(&format!("({} bytes, sha256 ", dashboard.len())),
            "{text}"
        );
        assert!(text.len() < 160, "{text}");
        // Two that differ only past the start still show differently.
        let mut other = dashboard.clone();
        other.push(' ');
        assert_ne!(text, shown(&Value::Str(other)));
        assert_eq!(shown(&Value::str("short")), "\"short\"");
    }
}
