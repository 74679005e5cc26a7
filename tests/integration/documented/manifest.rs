//! Documented manifest keys and transfer widths: `apply -j`, `fetch -j`, `[remote] region`
//! and `concurrency`, a profile's `endpoint_url`, `[trust] keys` and `signing_key_file`.

use std::time::Duration;

use super::{generate, ok};
use crate::common::backend::Backend;
use crate::common::deploy::edit;
use crate::common::faulty::{FaultyProxy, ProxyOptions};
use crate::common::fleet::{ENGINE, Fleet};
use crate::common::project::all_output;
use crate::common::responder::Responder;
use crate::common::s3::S3Server;

const FOUR_ARCHS: &str = "sm_75,sm_80,sm_86,sm_89";

fn server(fleet: &Fleet) -> &S3Server {
    match &fleet.backend {
        Backend::S3(server) => server,
        Backend::Dir(_) => unreachable!("an S3 fleet"),
    }
}

/// A proxy in front of the fleet's server that holds every request `rtt`, so transfers that
/// run at once are seen in flight together.
fn slow_proxy(fleet: &Fleet) -> FaultyProxy {
    FaultyProxy::start_with(
        &server(fleet).endpoint,
        ProxyOptions::latency(Duration::from_millis(60)),
    )
}

/// Machine `name` of `fleet`, reaching the remote through `proxy`.
fn through(fleet: &Fleet, name: &str, proxy: &FaultyProxy) -> assert_cmd::Command {
    let mut cmd = fleet.machine(name);
    cmd.env("ARTIFACTS_ENDPOINT", &proxy.endpoint)
        .env("TRTCTL_GPU_ARCH", FOUR_ARCHS);
    cmd
}

/// A GET of an engine, not of its sidecar.
fn is_engine_get(line: &str) -> bool {
    line.starts_with("GET ") && line.ends_with(".trt")
}

/// How many requests the proxy forwarded that `counts`.
fn requests(proxy: &FaultyProxy, counts: fn(&str) -> bool) -> usize {
    let requests = proxy.stats.requests.lock().unwrap();
    requests.iter().filter(|line| counts(line)).count()
}

#[test]
fn apply_j_and_fetch_j_set_how_many_engines_transfer_at_once() {
    let fleet = Fleet::with_archs(Backend::s3(), &["sm_75", "sm_80", "sm_86", "sm_89"]);
    let mut publish = fleet.machine("a");
    publish.env("TRTCTL_GPU_ARCH", FOUR_ARCHS);
    ok(publish, &["apply", "--no-shared-timing-cache"]);
    let lock = std::fs::read_to_string(fleet.project.path().join("engines.lock")).unwrap();
    assert_eq!(lock.matches("\nsha256 = ").count(), 4, "{lock}");

    for (command, jobs, most) in [
        ("apply", "1", 1..=1),
        ("apply", "4", 2..=4),
        ("fetch", "1", 1..=1),
        ("fetch", "4", 2..=4),
    ] {
        let proxy = slow_proxy(&fleet);
        let machine = format!("{command}-{jobs}");
        let args = [command, "-j", jobs, "--no-shared-timing-cache"];
        let args = match command {
            "apply" => &args[..],
            _ => &args[..3],
        };
        let shown = ok(through(&fleet, &machine, &proxy), args);
        assert_eq!(
            std::fs::read_dir(fleet.cache(&machine).join("arcface"))
                .unwrap()
                .count(),
            8,
            "{shown}"
        );
        let seen = proxy.stats.most_at_once(is_engine_get);
        assert!(
            most.contains(&seen),
            "{command} -j {jobs}: {seen} engines at once"
        );
        assert_eq!(requests(&proxy, is_engine_get), 4);
    }
}

#[test]
fn remote_concurrency_sets_the_ranges_of_one_fetch_in_flight() {
    let fleet = Fleet::new(Backend::s3());
    // Over 4 MiB: fetched from S3 in `concurrency` ranges at once.
    let mut publish = fleet.machine("a");
    publish.env("STUB_ENGINE_BYTES", "6000000");
    ok(
        publish,
        &["apply", "--gpu-arch", "sm_86", "--no-shared-timing-cache"],
    );
    let mut width = "part_size_mib = 5".to_string();
    for (concurrency, most) in [(1, 1..=1), (3, 2..=3)] {
        let wider = format!("part_size_mib = 5\nconcurrency = {concurrency}");
        edit(&fleet.project.path().join("engines.toml"), &width, &wider);
        width = wider;
        let proxy = slow_proxy(&fleet);
        let machine = format!("c{concurrency}");
        let shown = ok(
            through(&fleet, &machine, &proxy),
            &["apply", "--no-shared-timing-cache"],
        );
        assert!(shown.contains("1 fetched"), "{shown}");
        assert_eq!(
            std::fs::read(fleet.cache(&machine).join(ENGINE)).unwrap(),
            std::fs::read(fleet.cache("a").join(ENGINE)).unwrap()
        );
        assert_eq!(requests(&proxy, is_engine_get), concurrency);
        let seen = proxy.stats.most_at_once(is_engine_get);
        assert!(
            most.contains(&seen),
            "concurrency = {concurrency}: {seen} ranges at once"
        );
    }
}

/// The region of each signed request's credential scope.
fn signing_regions(responder: &Responder) -> Vec<String> {
    responder
        .requests()
        .iter()
        .map(|request| {
            let auth = request.header("authorization").unwrap_or_default();
            let scope = auth.split("Credential=").nth(1).unwrap_or_default();
            scope.split('/').nth(2).unwrap_or_default().to_string()
        })
        .collect()
}

#[test]
fn remote_region_signs_every_request_and_wins_over_the_environment() {
    let empty = r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>screenalytics-artifacts</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#;
    for (manifest_region, signed_with) in
        [(Some("eu-central-1"), "eu-central-1"), (None, "us-west-2")]
    {
        let responder = Responder::start(move |_| (200, empty.to_string()));
        let fleet = Fleet::new(Backend::dir());
        let region = manifest_region.map_or(String::new(), |r| format!("\nregion = \"{r}\""));
        let text = std::fs::read_to_string(fleet.project.path().join("engines.toml")).unwrap();
        let url_line = text.lines().find(|l| l.starts_with("url = ")).unwrap();
        edit(
            &fleet.project.path().join("engines.toml"),
            url_line,
            &format!(
                "url = \"s3://screenalytics-artifacts/engines\"\nendpoint = \"{}\"{region}",
                responder.url
            ),
        );
        let mut plan = fleet.machine("a");
        plan.env("ARTIFACTS_ACCESS_KEY", "AKIDEXAMPLE")
            .env("ARTIFACTS_SECRET_KEY", "secret-of-the-test")
            .env("AWS_REGION", "us-west-2");
        let shown = ok(plan, &["plan", "--gpu-arch", "sm_86"]);
        assert!(shown.contains("+ build"), "{shown}");
        let regions = signing_regions(&responder);
        assert!(!regions.is_empty());
        assert!(regions.iter().all(|r| r == signed_with), "{regions:?}");
    }
}

#[test]
fn a_profiles_endpoint_url_points_at_the_s3_server() {
    let fleet = Fleet::new(Backend::s3());
    let home = fleet.project.path().join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/config"),
        format!(
            "[profile lab]\nendpoint_url = {}\nregion = eu-west-1\n",
            server(&fleet).endpoint
        ),
    )
    .unwrap();
    let mut apply = fleet.machine("a");
    apply
        .env_remove("ARTIFACTS_ENDPOINT")
        .env("AWS_PROFILE", "lab");
    let shown = ok(apply, &["apply", "--gpu-arch", "sm_86"]);
    assert!(shown.contains("1 uploaded"), "{shown}");
    assert!(fleet.backend.object(ENGINE).is_file());
    assert!(
        !home.join(".cache/screenalytics/remote").exists(),
        "the stand-in was used"
    );
}

#[test]
fn trust_keys_and_signing_key_file_in_the_manifest_sign_and_guard_the_fleet() {
    let fleet = Fleet::new(Backend::dir());
    let (_, public) = generate(&fleet.project, "ci-2026");
    let manifest = fleet.project.path().join("engines.toml");
    let unsigned = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!(
            "{unsigned}[trust]\nkeys = [\"{public}\"]\nsigning_key_file = \"keys/ci-2026.key\"\n"
        ),
    )
    .unwrap();
    let shown = ok(fleet.machine("a"), &["apply", "--gpu-arch", "sm_86"]);
    assert!(shown.contains("1 uploaded"), "{shown}");
    let signature =
        std::fs::read_to_string(fleet.backend.object(&format!("{ENGINE}.sig/ci-2026"))).unwrap();
    assert!(signature.starts_with("ci-2026:"), "{signature}");

    let shown = ok(fleet.machine("b"), &["apply", "--gpu-arch", "sm_86"]);
    assert!(shown.contains("1 fetched"), "{shown}");
    let sidecar = std::fs::read_to_string(fleet.cache("b").join(format!("{ENGINE}.json"))).unwrap();
    assert!(
        sidecar.contains(&public),
        "the verified signer is recorded: {sidecar}"
    );

    // Trusting another key only: the engine is refused, nothing is cached.
    let (_, other) = generate(&fleet.project, "ci-2027");
    std::fs::write(
        &manifest,
        format!("{unsigned}[trust]\nkeys = [\"{other}\"]\n"),
    )
    .unwrap();
    let plan = ok(fleet.machine("c"), &["plan", "--gpu-arch", "sm_86"]);
    let untrusted = plan.lines().find(|l| l.contains("! untrusted"));
    assert!(untrusted.is_some_and(|l| l.contains("ci-2026")), "{plan}");
    let refused = fleet
        .machine("c")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", all_output(&refused));
    assert!(!fleet.cache("c").join(ENGINE).exists());
}

#[test]
fn remote_concurrency_sets_the_parts_of_one_upload_in_flight() {
    let is_part_put = |line: &str| line.starts_with("PUT ") && line.contains("partNumber=");
    for (concurrency, most) in [(1, 1..=1), (3, 2..=3)] {
        let fleet = Fleet::new(Backend::s3());
        edit(
            &fleet.project.path().join("engines.toml"),
            "part_size_mib = 5",
            &format!("part_size_mib = 5\nconcurrency = {concurrency}"),
        );
        let proxy = slow_proxy(&fleet);
        // 16 MB: uploaded to S3 in four parts of 5 MiB, `concurrency` of them at once.
        let mut publish = fleet.machine("a");
        publish
            .env("ARTIFACTS_ENDPOINT", &proxy.endpoint)
            .env("STUB_ENGINE_BYTES", "16000000");
        let shown = ok(
            publish,
            &["apply", "--gpu-arch", "sm_86", "--no-shared-timing-cache"],
        );
        assert!(shown.contains("1 uploaded"), "{shown}");
        assert_eq!(
            std::fs::read(fleet.backend.object(ENGINE)).unwrap(),
            std::fs::read(fleet.cache("a").join(ENGINE)).unwrap()
        );
        assert_eq!(requests(&proxy, is_part_put), 4);
        let seen = proxy.stats.most_at_once(is_part_put);
        assert!(
            most.contains(&seen),
            "concurrency = {concurrency}: {seen} parts at once"
        );
    }
}
