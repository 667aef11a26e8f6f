//! `helm template` of a release exactly as alpaka would install it (issue 25): `alpaka images`
//! and `alpaka doctor` read a chart's images from what the pinned chart renders with alpaka's
//! values (hooks included, as `helm template` prints them by default), not from a list kept by
//! hand. Nothing reaches a cluster: `helm template` renders client-side.

use std::time::Duration;

use super::{HelmDriver, HelmError, ValuesFile};
use crate::engine::{DriverError, Value};
use crate::providers::local::cli::Cmd;

/// Pulling a chart and rendering it: a large chart (kube-prometheus-stack) takes seconds.
const TEMPLATE_TIMEOUT: Duration = Duration::from_secs(180);

/// What an unknown value (`known after apply`: an IRSA role ARN on a first EKS plan) is
/// rendered as: a string where the chart expects one; no image is ever derived from it.
const UNKNOWN: &str = "known-after-apply";

impl HelmDriver {
    /// The manifests the release's chart renders with its values (`desired` as a
    /// `helm.release` node carries it: release, chart, repo, version, namespace, values).
    pub async fn template(&self, desired: &Value) -> Result<Vec<Value>, DriverError> {
        let s = |k: &str| {
            desired
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| DriverError::from(HelmError::Shape(format!("no `{k}`"))))
        };
        let (release, chart, version, namespace) =
            (s("release")?, s("chart")?, s("version")?, s("namespace")?);
        let repo = desired.get("repo").and_then(Value::as_str);
        let values = known(
            desired
                .get("values")
                .cloned()
                .unwrap_or(Value::Map(Default::default())),
        );
        let file = ValuesFile::write(release, &values)?;
        let path = file.0.display().to_string();
        let mut c = Cmd::new(&self.bin).args([
            "template",
            release,
            chart,
            "--version",
            version,
            "-n",
            namespace,
            "-f",
            &path,
        ]);
        if let Some(repo) = repo {
            c = c.args(["--repo", repo]);
        }
        let c = self
            .with_repo_credentials(c, repo)
            .timeout(TEMPLATE_TIMEOUT);
        let out = c.output().await?;
        drop(file);
        if !out.success() {
            // helm's own words: the reader wants why (not found, unreachable, refused), not
            // the command line, which names a temporary values file.
            return Err(DriverError::new(helm_says(&out.stderr)));
        }
        parse(&out.stdout).map_err(|message| {
            HelmError::Output {
                command: c.display(),
                message,
            }
            .into()
        })
    }
}

/// helm's `Error: …` line (its last), shortened; else its last line.
fn helm_says(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines()
        .rfind(|l| l.starts_with("Error:"))
        .or_else(|| lines().next_back())
        .unwrap_or("helm template failed, printing nothing");
    let mut s: String = line.chars().take(300).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

/// Unknown values as [`UNKNOWN`]; everything else as it is.
fn known(v: Value) -> Value {
    match v {
        Value::Unknown(_) => Value::str(UNKNOWN),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, known(v))).collect()),
        Value::List(l) => Value::List(l.into_iter().map(known).collect()),
        v => v,
    }
}

/// helm's output: YAML documents after `---` (and `# Source:` comments). A repeated key keeps
/// its last value, as helm's own YAML reading does (go-yaml maps).
fn parse(yaml: &str) -> Result<Vec<Value>, String> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple_with_options(yaml, options).map_err(|e| e.to_string())?;
    docs.into_iter()
        .filter(|d| !d.is_null())
        .map(|d| crate::engine::value::to_value(&d).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_documents_are_read_with_helms_yaml_rules() {
        let out = "---\n# Source: x/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n---\n# Source: x/templates/empty.yaml\n---\nkind: Pod\n";
        let docs = parse(out).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[0].get("metadata.name").and_then(Value::as_str),
            Some("b")
        );
        assert!(parse("a: [").is_err());
    }

    #[test]
    fn helms_error_line_is_what_is_reported() {
        assert_eq!(
            helm_says(
                "WARNING: x\nError: chart \"kminion\" version \"0.15.2\" not found in http://127.0.0.1/charts repository\n"
            ),
            "Error: chart \"kminion\" version \"0.15.2\" not found in http://127.0.0.1/charts repository"
        );
        assert_eq!(helm_says("  \n"), "helm template failed, printing nothing");
    }

    #[test]
    fn unknown_values_render_as_a_string() {
        let v: Value = serde_json::from_value(serde_json::json!({
            "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": {"$unknown": "aws.iam_role.lb#arn"}}}
        }))
        .unwrap();
        let v = known(v);
        assert_eq!(
            v.as_map().unwrap()["serviceAccount"].as_map().unwrap()["annotations"]
                .as_map()
                .unwrap()["eks.amazonaws.com/role-arn"],
            Value::str(UNKNOWN)
        );
    }
}
