//! Shared by the plan-level tests that run the real binary in a throwaway workspace
//! (`mod common;`): the shipped profiles, configs and policies, and a command that can reach
//! neither AWS nor any tool on this machine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh workspace with the shipped profiles/, configs/ and policies/.
pub fn workspace() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["profiles", "configs", "policies"] {
        let from = repo().join(sub);
        if !from.exists() {
            continue;
        }
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(&from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    dir
}

pub fn alpaka(root: &Path) -> Command {
    let mut c = Command::cargo_bin("alpaka").unwrap();
    // Nothing here may reach AWS: a closed loopback endpoint, no metadata service, no profile.
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "ap-northeast-2")
        .env_remove("AWS_PROFILE")
        .env("ALPAKA_ROOT", root)
        .env_remove("ALPAKA_PROFILE")
        // No tools at all, whatever this machine has: plan's tool warnings are the same everywhere.
        .env("PATH", root.join("no-tools"))
        .env("NO_COLOR", "1")
        .current_dir(root);
    c
}
