//! Signed engines through the real binary, against s3s-fs and `file://`: builders sign what
//! they publish, hosts fetch only what a trusted key signed.

use std::path::PathBuf;

use crate::common::backend::Backend;
use crate::common::files_under;
use crate::common::fleet::{ENGINE, Fleet, both};
use crate::common::project::{stderr_of, stdout_of, succeeded};

/// Makes a key with `trtctl key generate`; returns the secret key file and the public key.
fn generate(fleet: &Fleet, name: &str) -> (PathBuf, String) {
    let dir = fleet.project.path().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.key"));
    let out = fleet
        .project
        .trtctl()
        .args(["key", "generate", name, "--out"])
        .arg(&file)
        .output()
        .unwrap();
    succeeded(&out);
    let public = stdout_of(&out).trim().to_string();
    assert!(public.starts_with(&format!("{name}:")), "{public}");
    (file, public)
}

/// Machine `name` building and publishing with `key` as its signing key.
fn publish_signed(fleet: &Fleet, name: &str, key: &PathBuf) {
    let out = fleet
        .machine(name)
        .env("TRTCTL_SIGNING_KEY_FILE", key)
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&out);
    assert!(
        stdout_of(&out).contains("1 uploaded"),
        "{}",
        stdout_of(&out)
    );
}

fn trusting(fleet: &Fleet, machine: &str, keys: &[&str]) -> assert_cmd::Command {
    let mut cmd = fleet.machine(machine);
    cmd.env("TRTCTL_TRUSTED_KEYS", keys.join(" "));
    cmd
}

fn signature_object(fleet: &Fleet, signer: &str) -> PathBuf {
    fleet.backend.object(&format!("{ENGINE}.sig/{signer}"))
}

#[test]
fn an_engine_signed_by_a_trusted_key_is_fetched_and_verified_in_the_cache() {
    both(|fleet| {
        let (key, public) = generate(&fleet, "ci-2026");
        publish_signed(&fleet, "a", &key);
        let record = std::fs::read_to_string(signature_object(&fleet, "ci-2026")).unwrap();
        assert!(record.starts_with("ci-2026:"), "{record}");

        let plan = trusting(&fleet, "b", &[&public])
            .arg("plan")
            .output()
            .unwrap();
        assert!(stdout_of(&plan).contains("↓ fetch"), "{}", stdout_of(&plan));
        let b = trusting(&fleet, "b", &[&public])
            .arg("apply")
            .output()
            .unwrap();
        succeeded(&b);
        assert!(stdout_of(&b).contains("1 fetched"), "{}", stdout_of(&b));
        let sidecar =
            std::fs::read_to_string(fleet.cache("b").join(format!("{ENGINE}.json"))).unwrap();
        assert!(
            sidecar.contains(&public),
            "the cache records the verified signer: {sidecar}"
        );
        // The published sidecar carries nothing of any one cache.
        let remote =
            std::fs::read_to_string(fleet.backend.object(&format!("{ENGINE}.json"))).unwrap();
        assert!(!remote.contains("local_trust"), "{remote}");

        let again = trusting(&fleet, "b", &[&public])
            .arg("plan")
            .output()
            .unwrap();
        assert!(
            stdout_of(&again).contains("= up to date"),
            "{}",
            stdout_of(&again)
        );
        trusting(&fleet, "b", &[&public])
            .args(["cache", "verify"])
            .assert()
            .success();
    });
}

#[test]
fn engine_bytes_replaced_with_a_matching_sidecar_are_refused_and_nothing_is_cached() {
    both(|fleet| {
        let (key, public) = generate(&fleet, "ci-2026");
        publish_signed(&fleet, "a", &key);
        // A bucket writer without the key: new bytes, and a sidecar rewritten to match them.
        let object = fleet.backend.object(ENGINE);
        let mut bytes = std::fs::read(&object).unwrap();
        bytes.extend_from_slice(b"payload");
        std::fs::write(&object, &bytes).unwrap();
        let sidecar_path = fleet.backend.object(&format!("{ENGINE}.json"));
        let mut sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&sidecar_path).unwrap()).unwrap();
        sidecar["engine_sha256"] = trtctl::identity::sha256_hex(&bytes).into();
        sidecar["engine_size"] = bytes.len().into();
        std::fs::write(&sidecar_path, serde_json::to_vec_pretty(&sidecar).unwrap()).unwrap();

        let plan = trusting(&fleet, "b", &[&public])
            .arg("plan")
            .output()
            .unwrap();
        let text = stdout_of(&plan);
        assert!(text.contains("! untrusted"), "{text}");
        assert!(!text.contains("↓ fetch"), "{text}");
        assert!(
            text.contains("signature by trusted key `ci-2026` does not match"),
            "{text}"
        );
        assert!(text.contains("1 untrusted."), "{text}");

        let b = trusting(&fleet, "b", &[&public])
            .arg("apply")
            .output()
            .unwrap();
        assert_eq!(b.status.code(), Some(1), "{}", stdout_of(&b));
        let out = stdout_of(&b);
        assert!(
            out.contains(ENGINE) && out.contains("refusing the remote engine"),
            "{out}"
        );
        // The refused fetch counts in the progress total: `[1/1]`, never `[1/0]`.
        assert!(out.contains("[1/1] fetch "), "{out}");
        assert!(
            !fleet.cache("b").join(ENGINE).exists(),
            "an untrusted engine was cached"
        );
        assert!(fleet.project.builds().len() == 1, "only machine A built");
    });
}

#[test]
fn a_signature_by_a_key_that_is_not_trusted_is_refused() {
    both(|fleet| {
        let (stranger, _) = generate(&fleet, "evil");
        let (_, trusted) = generate(&fleet, "ci-2026");
        publish_signed(&fleet, "a", &stranger);
        let plan = trusting(&fleet, "b", &[&trusted])
            .arg("plan")
            .output()
            .unwrap();
        let text = stdout_of(&plan);
        assert!(text.contains("! untrusted"), "{text}");
        assert!(
            text.contains("signed only by `evil`, not a trusted key (trusted keys: ci-2026)"),
            "{text}"
        );
        trusting(&fleet, "b", &[&trusted])
            .args(["plan", "--detailed-exitcode"])
            .assert()
            .code(3);
        let b = trusting(&fleet, "b", &[&trusted])
            .arg("apply")
            .output()
            .unwrap();
        assert_eq!(b.status.code(), Some(1));
        assert!(!fleet.cache("b").join(ENGINE).exists());
    });
}

#[test]
fn during_rotation_both_keys_are_accepted_and_sign_adds_the_new_signature() {
    both(|fleet| {
        let (old, old_public) = generate(&fleet, "ci-2026");
        let (new, new_public) = generate(&fleet, "ci-2027");
        publish_signed(&fleet, "a", &old);
        let both_keys = [old_public.as_str(), new_public.as_str()];
        trusting(&fleet, "b", &both_keys)
            .arg("apply")
            .assert()
            .success();
        assert!(fleet.cache("b").join(ENGINE).is_file());

        // Rotation: the new key signs what is there; the old signature is retired.
        let sign = fleet
            .machine("a")
            .env("TRTCTL_SIGNING_KEY_FILE", &new)
            .arg("sign")
            .output()
            .unwrap();
        let signed = succeeded(&sign);
        assert!(signed.contains(&format!("{ENGINE}: signed")), "{signed}");
        std::fs::remove_file(signature_object(&fleet, "ci-2026")).unwrap();
        let c = trusting(&fleet, "c", &both_keys)
            .arg("apply")
            .output()
            .unwrap();
        succeeded(&c);
        assert!(fleet.cache("c").join(ENGINE).is_file());
        // Signing again is a no-op.
        let again = fleet
            .machine("a")
            .env("TRTCTL_SIGNING_KEY_FILE", &new)
            .arg("sign")
            .output()
            .unwrap();
        assert!(
            stdout_of(&again).contains("already signed by this key"),
            "{}",
            stdout_of(&again)
        );
    });
}

#[test]
fn an_untrusted_remote_engine_is_replaced_by_a_trusted_builder_as_documented() {
    both(|fleet| {
        let (stranger, _) = generate(&fleet, "evil");
        let (ci_key, trusted) = generate(&fleet, "ci-2026");
        publish_signed(&fleet, "a", &stranger);
        // docs/trust.md: delete the engine, its .json and its .sig/ from the remote, then a
        // trusted builder's apply publishes a signed build.
        std::fs::remove_file(fleet.backend.object(ENGINE)).unwrap();
        std::fs::remove_file(fleet.backend.object(&format!("{ENGINE}.json"))).unwrap();
        std::fs::remove_dir_all(fleet.backend.object(&format!("{ENGINE}.sig"))).unwrap();
        let rebuilt = trusting(&fleet, "c", &[&trusted])
            .env("TRTCTL_SIGNING_KEY_FILE", &ci_key)
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        succeeded(&rebuilt);
        assert!(
            stdout_of(&rebuilt).contains("1 built"),
            "{}",
            stdout_of(&rebuilt)
        );
        assert!(signature_object(&fleet, "ci-2026").is_file());
        assert!(!signature_object(&fleet, "evil").exists());
        let host = trusting(&fleet, "b", &[&trusted])
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        succeeded(&host);
        assert!(
            stdout_of(&host).contains("1 fetched"),
            "{}",
            stdout_of(&host)
        );
        assert_eq!(
            std::fs::read(fleet.cache("b").join(ENGINE)).unwrap(),
            std::fs::read(fleet.backend.object(ENGINE)).unwrap()
        );
    });
}

#[test]
fn a_builder_whose_signing_key_it_does_not_trust_publishes_nothing() {
    both(|fleet| {
        let (_, old_public) = generate(&fleet, "ci-2026");
        let (new, new_public) = generate(&fleet, "ci-2027");
        // Mid-rotation: the builder already signs with the new key, which `[trust]` lacks.
        let out = trusting(&fleet, "a", &[&old_public])
            .env("TRTCTL_SIGNING_KEY_FILE", &new)
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
        let shown = format!("{}{}", stdout_of(&out), stderr_of(&out));
        assert!(
            shown.contains(&format!("{ENGINE}: not uploaded: this machine signs with `ci-2027`, which is not a trusted key here (trusted keys: ci-2026)")),
            "{shown}"
        );
        assert!(
            shown.contains(&format!("add `{new_public}` to `[trust] keys`")),
            "{shown}"
        );
        let secret = std::fs::read_to_string(&new).unwrap();
        let secret_part = secret.trim().split_once(':').unwrap().1;
        assert!(!shown.contains(&secret_part[..40]), "the secret key leaked");
        assert!(fleet.cache("a").join(ENGINE).is_file(), "the build is kept");
        assert!(!fleet.backend.object(ENGINE).exists(), "nothing published");
        assert!(!fleet.backend.object(&format!("{ENGINE}.json")).exists());

        // Once the new key is trusted, the same build is published, signed.
        let out = trusting(&fleet, "a", &[&old_public, &new_public])
            .env("TRTCTL_SIGNING_KEY_FILE", &new)
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        let published = succeeded(&out);
        assert!(published.contains("1 uploaded"), "{published}");
        assert!(signature_object(&fleet, "ci-2027").is_file());
    });
}

#[test]
fn sign_refuses_bytes_that_do_not_match_their_sidecar() {
    both(|fleet| {
        let (key, _) = generate(&fleet, "ci-2026");
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        let object = fleet.backend.object(ENGINE);
        let mut bytes = std::fs::read(&object).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&object, bytes).unwrap();
        let sign = fleet
            .machine("a")
            .env("TRTCTL_SIGNING_KEY_FILE", &key)
            .arg("sign")
            .output()
            .unwrap();
        assert_eq!(sign.status.code(), Some(1), "{}", stdout_of(&sign));
        assert!(
            stdout_of(&sign).contains("refused: the remote bytes"),
            "{}",
            stdout_of(&sign)
        );
        assert!(!signature_object(&fleet, "ci-2026").exists());
    });
}

#[test]
fn without_required_signatures_unsigned_engines_are_fetched_as_today() {
    both(|fleet| {
        let (_, public) = generate(&fleet, "ci-2026");
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        // No key trusted: today's behaviour.
        fleet.machine("b").arg("apply").assert().success();
        assert!(fleet.cache("b").join(ENGINE).is_file());
        // A trusted key but `require_signatures = false`: the same.
        let manifest = fleet.project.path().join("engines.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            format!("{text}[trust]\nrequire_signatures = false\n"),
        )
        .unwrap();
        trusting(&fleet, "c", &[&public])
            .arg("apply")
            .assert()
            .success();
        assert!(fleet.cache("c").join(ENGINE).is_file());
        // Required (the default once a key is trusted): the unsigned engine is untrusted, and
        // so is B's copy, fetched before signatures were required.
        std::fs::write(&manifest, &text).unwrap();
        let plan = trusting(&fleet, "b", &[&public])
            .arg("plan")
            .output()
            .unwrap();
        let out = stdout_of(&plan);
        assert!(
            out.contains("! untrusted") && out.contains("it is not signed (trusted keys: ci-2026)"),
            "{out}"
        );
        assert!(out.contains("fetched without a trusted signature"), "{out}");
        let verify = trusting(&fleet, "b", &[&public])
            .args(["cache", "verify"])
            .output()
            .unwrap();
        assert_eq!(verify.status.code(), Some(1), "{}", stdout_of(&verify));
        assert!(
            stdout_of(&verify).contains("untrusted"),
            "{}",
            stdout_of(&verify)
        );
    });
}

#[test]
fn a_legacy_engine_without_sidecar_is_untrusted_when_signatures_are_required() {
    both(|fleet| {
        let (key, public) = generate(&fleet, "ci-2026");
        publish_signed(&fleet, "a", &key);
        std::fs::remove_file(fleet.backend.object(&format!("{ENGINE}.json"))).unwrap();
        let plan = trusting(&fleet, "b", &[&public])
            .arg("plan")
            .output()
            .unwrap();
        let out = stdout_of(&plan);
        assert!(
            out.contains("! untrusted") && out.contains("a legacy engine"),
            "{out}"
        );
    });
}

#[test]
fn a_secret_key_readable_by_others_is_refused_with_the_fix_and_never_shown() {
    let fleet = Fleet::new(Backend::dir());
    let (key, _) = generate(&fleet, "ci-2026");
    let secret = std::fs::read_to_string(&key).unwrap();
    let secret_part = secret.trim().split_once(':').unwrap().1.to_string();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = fleet
        .machine("a")
        .env("TRTCTL_SIGNING_KEY_FILE", &key)
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("mode 0644") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(fleet.project.builds().is_empty());
    // Refuses to overwrite a key; the secret shows nowhere.
    let again = fleet
        .project
        .trtctl()
        .args(["key", "generate", "ci-2026", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr_of(&again).contains("refusing to overwrite"),
        "{}",
        stderr_of(&again)
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let public = fleet
        .project
        .trtctl()
        .args(["key", "public"])
        .arg(&key)
        .output()
        .unwrap();
    let signed = fleet
        .machine("a")
        .env("TRTCTL_SIGNING_KEY_FILE", &key)
        .args(["apply", "--gpu-arch", "sm_86", "-v"])
        .output()
        .unwrap();
    for output in [&out, &again, &public, &signed] {
        let all = format!("{}{}", stdout_of(output), stderr_of(output));
        assert!(
            !all.contains(&secret_part[..40]),
            "the secret key leaked: {all}"
        );
    }
    let remote = files_under(&fleet.backend.object(""));
    for file in remote.iter().chain(files_under(&fleet.cache("a")).iter()) {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret_part[..40]),
            "the secret key leaked into {}",
            file.display()
        );
    }
}

#[test]
fn apply_rebuilds_an_engine_fetched_unsigned_once_signatures_are_required() {
    both(|fleet| {
        let (key, public) = generate(&fleet, "ci-2026");
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        fleet.machine("b").arg("apply").assert().success();
        // The unsigned remote copy is gone (cleaned up, say); B's copy is all that is left.
        std::fs::remove_file(fleet.backend.object(ENGINE)).unwrap();
        std::fs::remove_file(fleet.backend.object(&format!("{ENGINE}.json"))).unwrap();
        let b = || {
            let mut cmd = trusting(&fleet, "b", &[&public]);
            cmd.env("TRTCTL_SIGNING_KEY_FILE", &key);
            cmd
        };
        let plan = b().args(["plan", "--gpu-arch", "sm_86"]).output().unwrap();
        let planned = stdout_of(&plan);
        assert!(
            planned.contains("~ rebuild")
                && planned.contains("(fetched without a trusted signature)"),
            "{planned}"
        );
        fleet.project.clear_builds();
        let apply = b().args(["apply", "--gpu-arch", "sm_86"]).output().unwrap();
        let out = succeeded(&apply);
        assert!(out.contains("1 built"), "{out}");
        assert!(!out.contains("by another process"), "{out}");
        assert_eq!(fleet.project.builds().len(), 1);
        let again = b().args(["plan", "--gpu-arch", "sm_86"]).output().unwrap();
        assert!(
            stdout_of(&again).contains("= up to date"),
            "{}",
            stdout_of(&again)
        );
    });
}
