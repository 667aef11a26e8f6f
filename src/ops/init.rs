//! `alpaka init`: the shipped profiles and configs, embedded in the binary, written into the
//! workspace — what an installed binary (no source tree) needs before its first `plan`. Never
//! over an existing file: a user's edited profile is theirs.

use std::path::Path;

use super::{Ctx, EXIT_OK, OpsError};
use crate::config::connect_workers::POLICIES_DIR;
use crate::config::{CONFIGS_DIR, PROFILES_DIR};

/// Every file under `profiles/` and `configs/` at build time, and the policies in `policies/` a
/// profile names (a test holds this list to the directories, so a new profile cannot be left
/// out; alpaka's own policies, such as the LB controller's, are compiled in and not written).
pub const SHIPPED: &[(&str, &str, &str)] = &[
    (
        PROFILES_DIR,
        "minikube.yaml",
        include_str!("../../profiles/minikube.yaml"),
    ),
    (
        PROFILES_DIR,
        "k3d.yaml",
        include_str!("../../profiles/k3d.yaml"),
    ),
    (
        PROFILES_DIR,
        "k3s.yaml",
        include_str!("../../profiles/k3s.yaml"),
    ),
    (
        PROFILES_DIR,
        "eks-dev.yaml",
        include_str!("../../profiles/eks-dev.yaml"),
    ),
    (
        PROFILES_DIR,
        "eks-prod.yaml",
        include_str!("../../profiles/eks-prod.yaml"),
    ),
    (
        CONFIGS_DIR,
        "default.yaml",
        include_str!("../../configs/default.yaml"),
    ),
    // eks-prod's S3 sink Connect type reads its IAM policy from here (`awsIdentity.policyFile`).
    (
        POLICIES_DIR,
        "connect-s3-sink.json",
        include_str!("../../policies/connect-s3-sink.json"),
    ),
];

pub fn init(ctx: &Ctx) -> Result<u8, OpsError> {
    let mut written = 0;
    for (dir, name, text) in SHIPPED {
        let path = ctx.root.join(dir).join(name);
        let shown = Path::new(dir).join(name);
        if path.exists() {
            println!("  kept     {} (exists; never overwritten)", shown.display());
            continue;
        }
        let parent = ctx.root.join(dir);
        std::fs::create_dir_all(&parent).map_err(|source| OpsError::Io {
            path: parent.clone(),
            op: "creating",
            source,
        })?;
        std::fs::write(&path, text).map_err(|source| OpsError::Io {
            path: path.clone(),
            op: "writing",
            source,
        })?;
        println!("  written  {}", shown.display());
        written += 1;
    }
    println!(
        "\n{written} file(s) written in {}. Next: `alpaka plan` (profile minikube), or `alpaka plan --profile NAME`.",
        ctx.root.display()
    );
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list is exactly what `profiles/` and `configs/` hold.
    #[test]
    fn shipped_files_are_every_profile_and_config() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk = Vec::new();
        for dir in [PROFILES_DIR, CONFIGS_DIR, POLICIES_DIR] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                let compiled_in =
                    crate::stack::catalog::LB_CONTROLLER_POLICY_FILE.ends_with(&format!("/{name}"));
                if name.ends_with(".yaml") || (name.ends_with(".json") && !compiled_in) {
                    let text = std::fs::read_to_string(e.path()).unwrap();
                    on_disk.push((dir.to_owned(), name, text));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<_> = SHIPPED
            .iter()
            .map(|(d, n, t)| ((*d).to_owned(), (*n).to_owned(), (*t).to_owned()))
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
