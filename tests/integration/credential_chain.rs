//! S3 credentials found where the AWS CLI finds them. Each source of the chain is proven by an
//! upload through the real binary to an S3 server (s3s-fs, SigV4 checked) that accepts exactly
//! the one key pair that source should yield; STS, the container endpoint and IMDSv2 are
//! responders on 127.0.0.1. Every test also greps everything trtctl printed or wrote for every
//! secret in play.

use std::path::{Path, PathBuf};
use std::process::Output;

use trtctl::store::remote::{Remote, RemoteEnv, RemoteSettings};

use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, stderr_of, stdout_of, succeeded};
use crate::common::responder::{Request, Responder, credentials_json, sts_answer};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

const BUCKET: &str = "screenalytics-artifacts";
const ENGINE: &str = "engines/arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
const SESSION_TOKEN: &str = "session-token-7e1f0c92";
const WEB_TOKEN: &str = "web-identity-token-3b9d41";
const CONTAINER_TOKEN: &str = "container-auth-token-55aa";
const SOURCE_ACCESS: &str = "source-profile-access-81";
const SOURCE_SECRET: &str = "source-profile-secret-c4d2";
const ROLE: &str = "arn:aws:iam::123456789012:role/builder";
const LONG_LIVED: &str = "2099-01-01T00:00:00Z";
const SECRETS: [&str; 7] = [
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    WEB_TOKEN,
    CONTAINER_TOKEN,
    SOURCE_ACCESS,
    SOURCE_SECRET,
];

/// A project whose `[remote]` points at an S3 server that accepts only the test key pair; the
/// credentials come from whatever source the test sets up.
struct Case {
    project: Project,
    server: S3Server,
    /// Files that hold a secret by design (the AWS shared files, a token file): not grepped.
    secret_files: Vec<PathBuf>,
    outputs: std::cell::RefCell<Vec<Output>>,
}

impl Case {
    fn new() -> Case {
        let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
        let project = Project::with_models(
            &["arcface_r100"],
            &manifest(&format!(
                "url = \"{}\"\nendpoint = \"{}\"",
                server.url("engines"),
                server.endpoint
            )),
        );
        Case {
            project,
            server,
            secret_files: Vec::new(),
            outputs: Default::default(),
        }
    }

    fn home(&self) -> PathBuf {
        self.project.path().join("home")
    }

    /// Writes `~/.aws/{name}`.
    fn aws_file(&mut self, name: &str, text: &str) {
        self.secret_file(&format!("home/.aws/{name}"), text);
    }

    fn secret_file(&mut self, relative: &str, text: &str) -> PathBuf {
        let path = self.project.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        self.secret_files.push(path.clone());
        path
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.project.trtctl();
        cmd.args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let output = cmd.output().unwrap();
        self.outputs.borrow_mut().push(output.clone());
        output
    }

    /// `apply` uploads with the credentials `env` leads to, and the plan header names them.
    fn uploads_via(&self, env: &[(&str, &str)], source: &str) {
        let plan = self.run(&["plan", "--gpu-arch", "sm_86", "--out", "plan.json"], env);
        succeeded(&plan);
        let saved = std::fs::read_to_string(self.project.path().join("plan.json")).unwrap();
        assert!(saved.contains(source), "the plan file names the source too");
        let header = stdout_of(&plan)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(header.contains(source), "{header}");
        assert!(!header.contains("read-only"), "{header}");
        let apply = self.run(&["apply", "--gpu-arch", "sm_86"], env);
        succeeded(&apply);
        assert!(
            stdout_of(&apply).contains("1 uploaded"),
            "{}",
            stdout_of(&apply)
        );
        assert!(self.server.object_path(ENGINE).is_file());
        assert!(
            !self.home().join(".cache/screenalytics/remote").exists(),
            "the stand-in was used"
        );
    }

    /// `plan` fails with one line that says `expected`, and never falls back to anonymous.
    fn fails_with(&self, env: &[(&str, &str)], expected: &str) {
        let plan = self.run(&["plan", "--gpu-arch", "sm_86"], env);
        assert_eq!(plan.status.code(), Some(1), "{}", stdout_of(&plan));
        let err = stderr_of(&plan);
        assert!(err.contains(expected), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            !stdout_of(&plan).contains("read-only"),
            "{}",
            stdout_of(&plan)
        );
    }
}

impl Drop for Case {
    /// No secret in any output, error, log, plan file or snapshot of this test.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let mut texts: Vec<(String, String)> = Vec::new();
        for output in self.outputs.borrow().iter() {
            texts.push(("stdout".into(), stdout_of(output)));
            texts.push(("stderr".into(), stderr_of(output)));
        }
        let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/snapshots");
        for root in [self.project.path(), snapshots.as_path()] {
            for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
                let path = entry.path();
                if entry.file_type().is_file() && !self.secret_files.iter().any(|s| s == path) {
                    let bytes = std::fs::read(path).unwrap_or_default();
                    texts.push((
                        path.display().to_string(),
                        String::from_utf8_lossy(&bytes).into(),
                    ));
                }
            }
        }
        for (place, text) in texts {
            for secret in SECRETS {
                assert!(!text.contains(secret), "{place} holds a secret");
            }
        }
    }
}

fn manifest(remote: &str) -> String {
    Manifest::new("10.3.0")
        .raw(&format!("[remote]\n{remote}\n"))
        .model(Model::arcface(&["fp16"], &["sm_86"]))
        .text()
}

/// An STS stand-in: answers `action` with the test key pair when `accept` says so, refuses
/// with AccessDenied otherwise.
fn sts(
    action: &'static str,
    accept: impl Fn(&Request) -> bool + Send + Sync + 'static,
) -> Responder {
    Responder::start(move |request| {
        if request.method == "POST"
            && request.form("Action").as_deref() == Some(action)
            && accept(request)
        {
            let answer = sts_answer(action, ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, LONG_LIVED);
            (200, answer)
        } else {
            let refusal = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>";
            (403, refusal.to_string())
        }
    })
}

#[test]
fn a_profile_with_static_keys_uploads_and_doctor_names_it() {
    let mut case = Case::new();
    case.aws_file(
        "credentials",
        &format!("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong-secret\n\n[ci]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    );
    case.uploads_via(
        &[("AWS_PROFILE", "ci")],
        "profile `ci` (~/.aws/credentials)",
    );
    let doctor = case.run(&["doctor"], &[("AWS_PROFILE", "ci")]);
    assert!(
        stdout_of(&doctor)
            .contains("credentials: profile `ci` (~/.aws/credentials), region us-east-1"),
        "{}",
        stdout_of(&doctor)
    );
    let json = case.run(&["doctor", "--json"], &[("AWS_PROFILE", "ci")]);
    assert!(
        stdout_of(&json).contains("profile `ci`"),
        "{}",
        stdout_of(&json)
    );

    case.fails_with(
        &[("AWS_PROFILE", "missing")],
        "AWS profile `missing` is not in ~/.aws/credentials or ~/.aws/config",
    );
}

#[test]
fn credential_process_supplies_keys_and_its_failure_is_one_clear_line() {
    let mut case = Case::new();
    let keys = case.secret_file(
        "keys.json",
        &credentials_json(
            "SessionToken",
            ACCESS_KEY,
            SECRET_KEY,
            SESSION_TOKEN,
            LONG_LIVED,
        ),
    );
    case.aws_file(
        "config",
        &format!(
            "[profile proc]\ncredential_process = cat {}\nregion = eu-west-1\n\n[profile broken]\ncredential_process = sh -c 'exit 3'\n",
            keys.display()
        ),
    );
    case.uploads_via(
        &[("AWS_PROFILE", "proc")],
        "profile `proc` credential_process (~/.aws/config), region eu-west-1",
    );
    case.fails_with(
        &[("AWS_PROFILE", "broken")],
        "credential_process of AWS profile `broken` exited with exit status: 3",
    );
    // `doctor` says what failed: no credentials, not an endpoint that does not answer.
    let doctor = case.run(&["doctor"], &[("AWS_PROFILE", "broken")]);
    let text = stdout_of(&doctor);
    assert!(
        text.contains("not usable: ")
            && text.contains("credential_process of AWS profile `broken` exited")
            && !text.contains("unreachable"),
        "{text}"
    );
}

#[test]
fn assume_role_signs_sts_with_the_source_profile_and_uploads_with_the_role() {
    let mut case = Case::new();
    let signed_by_source = format!("Credential={SOURCE_ACCESS}/");
    let sts = sts("AssumeRole", move |request| {
        request.form("RoleArn").as_deref() == Some(ROLE)
            && request
                .header("authorization")
                .is_some_and(|a| a.contains(&signed_by_source))
    });
    case.aws_file(
        "credentials",
        &format!(
            "[base]\naws_access_key_id = {SOURCE_ACCESS}\naws_secret_access_key = {SOURCE_SECRET}\n"
        ),
    );
    case.aws_file(
        "config",
        &format!("[profile ci]\nrole_arn = {ROLE}\nsource_profile = base\n\n[profile other]\nrole_arn = arn:aws:iam::123456789012:role/other\nsource_profile = base\n"),
    );
    let env = [
        ("AWS_PROFILE", "ci"),
        ("AWS_ENDPOINT_URL_STS", sts.url.as_str()),
    ];
    case.uploads_via(&env, &format!("profile `ci` assumes role {ROLE} (STS)"));
    assert!(!sts.requests().is_empty());

    let refused = [
        ("AWS_PROFILE", "other"),
        ("AWS_ENDPOINT_URL_STS", sts.url.as_str()),
    ];
    case.fails_with(
        &refused,
        "refused role arn:aws:iam::123456789012:role/other (AccessDenied: Not authorized to perform sts:AssumeRole)",
    );
}

#[test]
fn web_identity_trades_the_token_for_keys_and_uploads() {
    let mut case = Case::new();
    let sts = sts("AssumeRoleWithWebIdentity", |request| {
        request.form("WebIdentityToken").as_deref() == Some(WEB_TOKEN)
            && request.form("RoleArn").as_deref() == Some(ROLE)
            && request.header("authorization").is_none()
    });
    let token = case.secret_file("token", WEB_TOKEN);
    let token = token.to_str().unwrap();
    case.uploads_via(
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_ENDPOINT_URL_STS", sts.url.as_str()),
        ],
        &format!("web identity role {ROLE}"),
    );
    case.fails_with(
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_ENDPOINT_URL_STS", sts.url.as_str()),
        ],
        "web identity: the token file /nonexistent/token cannot be read",
    );
}

#[test]
fn container_credentials_come_from_the_full_uri_with_its_token() {
    let case = Case::new();
    let container = Responder::start(|request| {
        if request.path == "/creds" && request.header("authorization") == Some(CONTAINER_TOKEN) {
            let json = credentials_json("Token", ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, LONG_LIVED);
            (200, json)
        } else {
            (401, String::new())
        }
    });
    let uri = format!("{}/creds", container.url);
    case.uploads_via(
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN),
        ],
        "container credentials (ECS/EKS)",
    );
    case.fails_with(
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token"),
        ],
        "container credentials at",
    );
}

fn imds() -> Responder {
    Responder::start(|request| {
        let session = request.header("x-aws-ec2-metadata-token") == Some("imds-session");
        match (request.method.as_str(), request.path.as_str()) {
            ("PUT", "/latest/api/token")
                if request
                    .header("x-aws-ec2-metadata-token-ttl-seconds")
                    .is_some() =>
            {
                (200, "imds-session".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/") if session => {
                (200, "builder-role\n".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/builder-role") if session => (
                200,
                credentials_json("Token", ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, LONG_LIVED),
            ),
            _ => (401, String::new()),
        }
    })
}

#[test]
fn imds_v2_hands_out_the_instance_role_and_a_dead_service_is_an_error() {
    let case = Case::new();
    let imds = imds();
    case.uploads_via(
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url.as_str()),
        ],
        "instance role (IMDS)",
    );
    let paths: Vec<String> = imds.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths[0], "/latest/api/token",
        "IMDSv2 starts with a session token"
    );

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    case.fails_with(
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed.as_str()),
        ],
        "instance metadata service at",
    );
}

#[test]
fn the_stand_in_only_when_nothing_points_at_s3_and_never_when_forbidden() {
    let case = Case::new();
    case.project
        .write_manifest(&manifest(&format!("url = \"s3://{BUCKET}/engines\"")));
    // Unrelated AWS variables are not configuration.
    let plan = case.run(
        &["plan", "--gpu-arch", "sm_86"],
        &[("AWS_CA_BUNDLE", "/etc/ssl/x.pem")],
    );
    succeeded(&plan);
    let header = stdout_of(&plan)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        header.contains(&format!(
            "embedded stand-in for s3://{BUCKET}/engines: nothing points at S3; set AWS_PROFILE"
        )),
        "{header}"
    );

    case.fails_with(
        &[("TRTCTL_REMOTE_EMBEDDED", "false")],
        "the embedded stand-in is off",
    );
    case.project.write_manifest(&manifest(&format!(
        "url = \"s3://{BUCKET}/engines\"\nembedded = false"
    )));
    case.fails_with(
        &[],
        "set AWS_PROFILE, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY",
    );
}

/// Opens the remote the way the binary does, with `vars` as the whole environment.
fn remote_with(server: &S3Server, vars: &[(&str, &str)]) -> Remote {
    let env = RemoteEnv::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    });
    let settings = RemoteSettings {
        url: server.url("engines"),
        endpoint: Some(server.endpoint.clone()),
        ..RemoteSettings::default()
    };
    Remote::open(&settings, &env).unwrap()
}

#[test]
fn a_region_alone_points_at_s3_and_opens_it_read_only() {
    // Opening sends nothing, so this never reaches AWS.
    let env = RemoteEnv::from_lookup(|name| (name == "AWS_REGION").then(|| "eu-west-1".into()));
    assert!(env.points_at_s3());
    let settings = RemoteSettings {
        url: format!("s3://{BUCKET}/engines"),
        ..RemoteSettings::default()
    };
    let remote = Remote::open(&settings, &env).unwrap();
    assert!(!remote.writable());
    let access = remote.access().describe().unwrap();
    assert_eq!(
        access,
        "credentials: none: read-only, region eu-west-1, endpoint https://s3.eu-west-1.amazonaws.com"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_credentials_are_fetched_again_before_they_expire() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    for (expiration, fetches) in [("2000-01-01T00:00:00Z", 2), (LONG_LIVED, 1)] {
        let container = Responder::start(move |_| {
            (
                200,
                credentials_json("Token", ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, expiration),
            )
        });
        let remote = remote_with(
            &server,
            &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url.as_str())],
        );
        for _ in 0..2 {
            remote.list_family("arcface").await.unwrap();
        }
        assert_eq!(container.requests().len(), fetches, "expiring {expiration}");
    }
}
