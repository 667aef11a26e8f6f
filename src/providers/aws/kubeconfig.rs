//! The kubeconfig alpaka writes for an EKS cluster it made: endpoint and CA as DescribeCluster
//! reports them, the user an exec credential plugin that runs this alpaka binary's `eks-token`
//! (a presigned STS token; no aws CLI). Used by the `eks.cluster` driver (an alpaka-owned file,
//! `.alpaka/<profile>.kubeconfig`, mode 0600, that in-cluster nodes reach the cluster through)
//! and by `alpaka kubeconfig` (for people).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KubeconfigError {
    #[error("writing the kubeconfig {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("encoding the kubeconfig: {0}")]
    Encode(String),
}

/// The context alpaka's own kubeconfig names for EKS cluster `cluster`.
pub fn context_name(cluster: &str) -> String {
    format!("alpaka-{cluster}")
}

/// This binary, as the exec plugin's command (absolute when the OS can say it).
pub fn exe() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "alpaka".to_owned())
}

/// The cluster, user and context entries for one EKS cluster.
pub fn entries(
    context: &str,
    cluster: &str,
    region: &str,
    endpoint: &str,
    ca: &str,
    exe: &str,
) -> Json {
    json!({
        "cluster": {"name": context, "cluster": {"server": endpoint, "certificate-authority-data": ca}},
        "user": {"name": context, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": exe,
            "args": ["eks-token", "--cluster", cluster, "--region", region],
            "interactiveMode": "Never"
        }}},
        "context": {"name": context, "context": {"cluster": context, "user": context}}
    })
}

/// Add or replace the named entries in a kubeconfig document and make the context current.
pub fn merge(existing: Option<Json>, entries: &Json) -> Json {
    let mut doc = existing.unwrap_or_else(|| {
        json!({"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [], "contexts": [], "users": []})
    });
    for (list, key) in [
        ("clusters", "cluster"),
        ("users", "user"),
        ("contexts", "context"),
    ] {
        let entry = entries[key].clone();
        let name = entry["name"].clone();
        if !doc[list].is_array() {
            doc[list] = json!([]);
        }
        if let Some(items) = doc[list].as_array_mut() {
            items.retain(|i| i["name"] != name);
            items.push(entry);
        }
    }
    doc["current-context"] = entries["context"]["name"].clone();
    doc
}

/// Write a kubeconfig holding only `entries` to `path`, readable only by its owner (0600),
/// atomically (a temp file in the same directory, renamed over the old one).
pub fn write_own(path: &Path, entries: &Json) -> Result<(), KubeconfigError> {
    let io = |source| KubeconfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let yaml = serde_saphyr::to_string(&merge(None, entries))
        .map_err(|e| KubeconfigError::Encode(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("kubeconfig.tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    let written = f
        .write_all(yaml.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_by_name_and_keeps_others() {
        let e = entries(
            "alpaka-eks-prod",
            "prod",
            "ap-northeast-2",
            "https://x",
            "Q0E=",
            "alpaka",
        );
        let existing = json!({"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "other", "cluster": {"server": "https://o"}},
                         {"name": "alpaka-eks-prod", "cluster": {"server": "https://old"}}],
            "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
            "users": [{"name": "other", "user": {"token": "t"}}],
            "current-context": "other"});
        let m = merge(Some(existing), &e);
        assert_eq!(m["clusters"].as_array().unwrap().len(), 2);
        assert_eq!(m["clusters"][1]["cluster"]["server"], "https://x");
        assert_eq!(m["contexts"].as_array().unwrap().len(), 2);
        assert_eq!(m["current-context"], "alpaka-eks-prod");
        assert_eq!(
            m["users"][1]["user"]["exec"]["args"],
            json!([
                "eks-token",
                "--cluster",
                "prod",
                "--region",
                "ap-northeast-2"
            ])
        );
        let fresh = merge(None, &e);
        assert_eq!(fresh["kind"], "Config");
    }

    /// What the eks.cluster driver writes: read back with kube-rs's own parser, it has the
    /// server, CA, exec command/args and context name, and is private to its owner.
    #[test]
    fn written_kubeconfig_reads_back_in_kube() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".alpaka/eks-dev.kubeconfig");
        let e = entries(
            &context_name("dev"),
            "dev",
            "ap-northeast-2",
            "https://ABC.gr7.ap-northeast-2.eks.amazonaws.com",
            "Q0EtREFUQQ==",
            "/opt/alpaka/bin/alpaka",
        );
        write_own(&path, &e).unwrap();
        // Twice: the second write replaces the first.
        write_own(&path, &e).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("alpaka-dev"));
        let ctx = &kc.contexts[0];
        assert_eq!(ctx.name, "alpaka-dev");
        let cl = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(
            cl.server.as_deref(),
            Some("https://ABC.gr7.ap-northeast-2.eks.amazonaws.com")
        );
        assert_eq!(
            cl.certificate_authority_data.as_deref(),
            Some("Q0EtREFUQQ==")
        );
        let exec = kc.auth_infos[0]
            .auth_info
            .as_ref()
            .unwrap()
            .exec
            .as_ref()
            .unwrap();
        assert_eq!(exec.command.as_deref(), Some("/opt/alpaka/bin/alpaka"));
        assert_eq!(
            exec.args.as_deref().unwrap(),
            [
                "eks-token",
                "--cluster",
                "dev",
                "--region",
                "ap-northeast-2"
            ]
        );
        assert_eq!(
            exec.api_version.as_deref(),
            Some("client.authentication.k8s.io/v1beta1")
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
