//! Which backend holds a profile's state, and moving a state between backends: `alpaka state
//! migrate --to s3|local` and `alpaka state init-backend`.

use std::path::Path;

use alpaka_aws::state_store::{Encryption, StateStore};

use super::{Ctx, EXIT_OK, OpsError};
use crate::config;
use crate::model::{Profile, StateBackendKind, StateSettings};
use crate::state::{Backend, LocalBackend, S3Backend, S3Location};

/// Where a profile's state lives, from its `state:` block: `.alpaka/` unless it names S3.
pub fn for_profile(
    root: &Path,
    name: &str,
    profile: &Profile,
) -> Result<Box<dyn Backend>, OpsError> {
    match s3_location(name, profile) {
        Some(at) => Ok(Box::new(S3Backend::new(at, name)?)),
        None => Ok(Box::new(LocalBackend::new(root, name))),
    }
}

fn encryption(s: &StateSettings) -> Encryption {
    match &s.kms_key_id {
        Some(k) => Encryption::Kms(k.clone()),
        None => Encryption::S3,
    }
}

/// The profile's S3 location, when its `state:` block says `backend: s3`.
fn s3_location(name: &str, profile: &Profile) -> Option<S3Location> {
    let s = profile.state.as_ref()?;
    if s.backend != StateBackendKind::S3 {
        return None;
    }
    // Validation guarantees bucket and region for `backend: s3`.
    Some(S3Location {
        bucket: s.bucket.clone().unwrap_or_default(),
        key: s.key_for(name),
        region: s.region.clone().unwrap_or_default(),
        encryption: encryption(s),
    })
}

/// Which way `state migrate` moves the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTo {
    /// From `.alpaka/` to the S3 location in the profile's `state:` block.
    S3,
    /// From the S3 location in the profile's `state:` block to `.alpaka/`.
    Local,
}

/// Copy the state from one backend to the other under both locks. Refused when the target
/// holds a state of another deployment (lineage); a target already at the source's serial or
/// newer is left alone. The source stays as it is, as a backup.
pub fn migrate(ctx: &Ctx, to: MigrateTo) -> Result<u8, OpsError> {
    let loaded = config::load(&ctx.root, &ctx.profile).map_err(OpsError::Invalid)?;
    let name = &loaded.profile_name;
    let Some(at) = s3_location(name, &loaded.profile) else {
        return Err(OpsError::Refused(format!(
            "profile `{name}` has no `state: {{backend: s3, bucket: …, region: …}}` block: add it \
             first (`alpaka state init-backend` prints one), then migrate"
        )));
    };
    let local: Box<dyn Backend> = Box::new(LocalBackend::new(&ctx.root, name));
    let remote: Box<dyn Backend> = Box::new(S3Backend::new(at, name)?);
    let (from, target) = match to {
        MigrateTo::S3 => (local, remote),
        MigrateTo::Local => (remote, local),
    };
    let _from_lock = from.lock("state migrate")?;
    let _to_lock = target.lock("state migrate")?;
    let Some(state) = from.load()? else {
        return Err(OpsError::Refused(format!(
            "there is no state at {} to migrate",
            from.describe()
        )));
    };
    if let Some(there) = target.load()? {
        if there.lineage != state.lineage {
            return Err(OpsError::Refused(format!(
                "{} already holds a state of another deployment (lineage {}, serial {}); the \
                 state at {} is lineage {}. Nothing was moved: point the profile's `state:` \
                 block elsewhere, or remove that state if it is stale",
                target.describe(),
                there.lineage,
                there.serial,
                from.describe(),
                state.lineage
            )));
        }
        if there.serial >= state.serial {
            println!(
                "{} already holds this state (serial {}; {} is at serial {}): nothing to move.",
                target.describe(),
                there.serial,
                from.describe(),
                state.serial
            );
            return Ok(EXIT_OK);
        }
    }
    target.persist(&state)?;
    println!(
        "Moved the state of profile `{name}` (serial {}, {} resources) from {} to {}.\n\
         {} is left as it was, as a backup; remove it once you no longer need it.",
        state.serial,
        state.resources.len(),
        from.describe(),
        target.describe(),
        from.describe()
    );
    if to == MigrateTo::Local {
        println!("Set `state: {{backend: local}}` in the profile (or remove the block) to use it.");
    }
    Ok(EXIT_OK)
}

/// What `state init-backend` was asked for.
#[derive(Clone, Debug, Default)]
pub struct InitBackend {
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub key: Option<String>,
    pub kms_key_id: Option<String>,
}

/// Create the bucket if it is missing, with versioning, default encryption and every public
/// access blocked (each only if not so already), and print the `state:` block to paste.
pub async fn init_backend(ctx: &Ctx, args: &InitBackend) -> Result<u8, OpsError> {
    let loaded = config::load(&ctx.root, &ctx.profile).map_err(OpsError::Invalid)?;
    let name = &loaded.profile_name;
    let from_profile = loaded.profile.state.clone().unwrap_or_default();
    let eks_region = loaded.profile.eks.as_ref().map(|e| e.region.clone());
    let bucket = args
        .bucket
        .clone()
        .or(from_profile.bucket.clone())
        .ok_or_else(|| {
            OpsError::Refused(
                "name the bucket: --bucket <name> (or `state.bucket` in the profile)".to_owned(),
            )
        })?;
    if let Some(why) = config::semantic::bucket_name_problem(&bucket) {
        return Err(OpsError::Refused(format!(
            "{bucket:?} is not a valid S3 bucket name: {why}"
        )));
    }
    let region = args
        .region
        .clone()
        .or(from_profile.region.clone())
        .or(eks_region)
        .ok_or_else(|| {
            OpsError::Refused(
                "name the region: --region <region> (or `state.region` in the profile)".to_owned(),
            )
        })?;
    let settings = StateSettings {
        backend: StateBackendKind::S3,
        bucket: Some(bucket.clone()),
        key: args.key.clone().or(from_profile.key.clone()),
        region: Some(region.clone()),
        kms_key_id: args.kms_key_id.clone().or(from_profile.kms_key_id.clone()),
    };
    let store = StateStore::load(&region).await;
    let setup = store
        .ensure_bucket(&bucket, &encryption(&settings))
        .await
        .map_err(|source| crate::state::StateError::Remote {
            location: format!("s3://{bucket}"),
            source: Box::new(source),
        })?;
    let did = |yes: bool, now: &str, already: &str| {
        if yes {
            now.to_owned()
        } else {
            already.to_owned()
        }
    };
    println!(
        "Bucket s3://{bucket} ({region}): {}; versioning {}; default encryption {}; public access {}.",
        did(setup.created, "created", "exists"),
        did(setup.versioning_enabled_now, "enabled now", "already on"),
        did(setup.encryption_set_now, "set now", "already set"),
        did(
            setup.public_access_blocked_now,
            "blocked now",
            "already blocked"
        ),
    );
    println!(
        "\nPut this in profiles/{name}.yaml, then run `alpaka state migrate --to s3 --profile {name}` \
         if the profile already has a local state:\n"
    );
    println!("state:\n  backend: s3\n  bucket: {bucket}\n  region: {region}");
    println!("  key: {}", settings.key_for(name));
    if let Some(k) = &settings.kms_key_id {
        println!("  kmsKeyId: {k}");
    }
    Ok(EXIT_OK)
}
