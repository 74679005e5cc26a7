//! Sources of temporary credentials: `credential_process`, STS (AssumeRole, signed with the
//! source profile's keys; AssumeRoleWithWebIdentity), container credentials and IMDSv2. Each is
//! fetched on first use and again shortly before it expires, so a long apply never signs with
//! expired keys.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use object_store::ClientOptions;
use object_store::aws::{AwsAuthorizer, AwsCredential, AwsCredentialProvider};
use object_store::client::{
    CredentialProvider, HttpClient, HttpConnector, HttpError, HttpRequest, HttpRequestBody,
    ReqwestConnector,
};
use serde::Deserialize;

use super::CredentialError;
use crate::store::remote::scrub::{Secrets, xml_tag};

/// Credentials this close to expiry are fetched afresh (the SDKs' default window).
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
const STS_VERSION: &str = "2011-06-15";
const IMDS_TOKEN_TTL_SECS: &str = "21600";

/// How one source gets its credentials.
pub enum Fetch {
    Process {
        profile: String,
        command: String,
    },
    AssumeRole {
        role_arn: String,
        session_name: String,
        endpoint: String,
        region: String,
        source: AwsCredentialProvider,
    },
    WebIdentity {
        role_arn: String,
        session_name: String,
        token_file: PathBuf,
        endpoint: String,
    },
    Container {
        url: String,
        token: Option<String>,
        token_file: Option<PathBuf>,
    },
    Imds {
        endpoint: String,
    },
}

/// Credentials as issued, and when they stop working (`None`: never).
struct Issued {
    credential: Arc<AwsCredential>,
    expires: Option<SystemTime>,
}

impl Issued {
    fn fresh_at(&self, now: SystemTime) -> bool {
        self.expires
            .is_none_or(|expires| expires > now + REFRESH_MARGIN)
    }
}

/// The JSON that `credential_process`, container endpoints and IMDS answer with.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IssuedJson {
    access_key_id: String,
    secret_access_key: String,
    #[serde(alias = "Token")]
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Why an answer (or a process's output) holds no usable credentials.
#[derive(Debug, thiserror::Error)]
enum AnswerError {
    #[error("the answer is not credentials JSON ({0})")]
    NotJson(#[from] serde_json::Error),
    #[error("its Expiration `{text}` is not a date ({source})")]
    BadExpiration {
        text: String,
        source: chrono::ParseError,
    },
}

/// Why a request got no answer at all.
#[derive(Debug, thiserror::Error)]
enum TransportError {
    #[error("{0}")]
    Client(#[from] object_store::Error),
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("`{url}` is not a usable URL ({source})")]
    BadUrl { url: String, source: http::Error },
}

/// A source with its last credentials, fetched again when they are about to expire.
pub struct Refreshing {
    fetch: Fetch,
    secrets: Secrets,
    cached: tokio::sync::Mutex<Option<Issued>>,
}

impl fmt::Debug for Refreshing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.fetch {
            Fetch::Process { .. } => "credential_process",
            Fetch::AssumeRole { .. } => "assume role",
            Fetch::WebIdentity { .. } => "web identity",
            Fetch::Container { .. } => "container",
            Fetch::Imds { .. } => "instance metadata",
        };
        f.debug_struct("Refreshing").field("source", &kind).finish()
    }
}

impl Refreshing {
    /// `secrets` learns every credential issued, so error texts never echo one.
    pub fn provider(fetch: Fetch, secrets: &Secrets) -> AwsCredentialProvider {
        Arc::new(Refreshing {
            fetch,
            secrets: secrets.clone(),
            cached: tokio::sync::Mutex::new(None),
        })
    }

    async fn fetch(&self) -> Result<Issued, CredentialError> {
        let issued = match &self.fetch {
            Fetch::Process { profile, command } => run_process(profile, command).await?,
            Fetch::AssumeRole {
                role_arn,
                session_name,
                endpoint,
                region,
                source,
            } => {
                let source =
                    source
                        .get_credential()
                        .await
                        .map_err(|e| CredentialError::StsRefused {
                            endpoint: endpoint.clone(),
                            role_arn: role_arn.clone(),
                            why: format!("the source profile's credentials failed: {e}"),
                        })?;
                let form = [
                    ("Action", "AssumeRole"),
                    ("Version", STS_VERSION),
                    ("RoleArn", role_arn),
                    ("RoleSessionName", session_name),
                ];
                sts(endpoint, role_arn, &form, Some((&source, region))).await?
            }
            Fetch::WebIdentity {
                role_arn,
                session_name,
                token_file,
                endpoint,
            } => {
                let token = std::fs::read_to_string(token_file).map_err(|e| {
                    CredentialError::WebIdentity {
                        why: format!(
                            "the token file {} cannot be read ({e})",
                            token_file.display()
                        ),
                    }
                })?;
                self.secrets.add(token.trim());
                let form = [
                    ("Action", "AssumeRoleWithWebIdentity"),
                    ("Version", STS_VERSION),
                    ("RoleArn", role_arn),
                    ("RoleSessionName", session_name),
                    ("WebIdentityToken", token.trim()),
                ];
                sts(endpoint, role_arn, &form, None).await?
            }
            Fetch::Container {
                url,
                token,
                token_file,
            } => container(url, token.as_deref(), token_file.as_deref(), &self.secrets).await?,
            Fetch::Imds { endpoint } => imds(endpoint).await?,
        };
        let credential = &issued.credential;
        self.secrets.add(&credential.key_id);
        self.secrets.add(&credential.secret_key);
        if let Some(token) = &credential.token {
            self.secrets.add(token);
        }
        Ok(issued)
    }
}

#[async_trait]
impl CredentialProvider for Refreshing {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some(issued) = cached.as_ref().filter(|i| i.fresh_at(SystemTime::now())) {
            return Ok(Arc::clone(&issued.credential));
        }
        let issued = self
            .fetch()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        let credential = Arc::clone(&issued.credential);
        *cached = Some(issued);
        Ok(credential)
    }
}

fn issued(
    key_id: String,
    secret_key: String,
    token: Option<String>,
    expiration: Option<&str>,
) -> Result<Issued, AnswerError> {
    let expires = match expiration {
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text.trim())
                .map_err(|source| AnswerError::BadExpiration {
                    text: text.to_string(),
                    source,
                })?
                .into(),
        ),
        None => None,
    };
    Ok(Issued {
        credential: Arc::new(AwsCredential {
            key_id,
            secret_key,
            token,
        }),
        expires,
    })
}

fn from_json(body: &[u8]) -> Result<Issued, AnswerError> {
    let json: IssuedJson = serde_json::from_slice(body)?;
    issued(
        json.access_key_id,
        json.secret_access_key,
        json.session_token,
        json.expiration.as_deref(),
    )
}

async fn run_process(profile: &str, command: &str) -> Result<Issued, CredentialError> {
    let failed = |why: String| CredentialError::Process {
        profile: profile.to_string(),
        why,
    };
    // Its stderr goes to the terminal, so a prompt or a login hint reaches the user.
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .map_err(|e| failed(format!("could not start ({e})")))?;
    if !output.status.success() {
        return Err(failed(format!("exited with {}", output.status)));
    }
    from_json(&output.stdout).map_err(|why| failed(format!("printed something else: {why}")))
}

fn http_client() -> Result<HttpClient, TransportError> {
    let options = ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(10));
    Ok(ReqwestConnector::default().connect(&options)?)
}

/// What came back from one HTTP request: the status and the body, or why nothing came.
async fn send(request: HttpRequest) -> Result<(u16, Vec<u8>), TransportError> {
    let client = http_client()?;
    let response = client.execute(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().bytes().await?;
    Ok((status, body.to_vec()))
}

fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<HttpRequest, TransportError> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(HttpRequestBody::from(body))
        .map_err(|source| TransportError::BadUrl {
            url: url.to_string(),
            source,
        })
}

/// One STS call; `signer` signs it with the source credentials (AssumeRole), none for web
/// identity (the token is the proof).
async fn sts(
    endpoint: &str,
    role_arn: &str,
    form: &[(&str, &str)],
    signer: Option<(&AwsCredential, &str)>,
) -> Result<Issued, CredentialError> {
    let endpoint = endpoint.trim_end_matches('/');
    let down = |why: String| CredentialError::ServiceDown {
        source_name: "STS",
        endpoint: endpoint.to_string(),
        why,
        fix: "AWS_ENDPOINT_URL_STS and the network",
    };
    let refused = |why: String| CredentialError::StsRefused {
        endpoint: endpoint.to_string(),
        role_arn: role_arn.to_string(),
        why,
    };
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = request(
        "POST",
        &format!("{endpoint}/"),
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    )
    .map_err(|e| down(e.to_string()))?;
    if let Some((credential, region)) = signer {
        AwsAuthorizer::new(credential, "sts", region)
            .try_authorize(&mut req, None)
            .map_err(|e| refused(format!("cannot sign the request: {e}")))?;
    }
    let (status, body) = send(req).await.map_err(|e| down(e.to_string()))?;
    let text = String::from_utf8_lossy(&body);
    if status >= 500 {
        return Err(down(format!("HTTP {status}")));
    }
    if status >= 300 {
        let why = match (xml_tag(&text, "Code"), xml_tag(&text, "Message")) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code,
            _ => format!("HTTP {status}"),
        };
        return Err(refused(why));
    }
    let tag = |name: &str| {
        xml_tag(&text, name).ok_or_else(|| refused(format!("the answer has no {name}")))
    };
    issued(
        tag("AccessKeyId")?,
        tag("SecretAccessKey")?,
        xml_tag(&text, "SessionToken"),
        xml_tag(&text, "Expiration").as_deref(),
    )
    .map_err(|e| refused(e.to_string()))
}

async fn container(
    url: &str,
    token: Option<&str>,
    token_file: Option<&std::path::Path>,
    secrets: &Secrets,
) -> Result<Issued, CredentialError> {
    const FIX: &str =
        "AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI and the authorization token";
    let token =
        match token_file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                CredentialError::ServiceRefused {
                    source_name: "container credentials",
                    endpoint: url.to_string(),
                    why: format!("the token file {} cannot be read ({e})", path.display()),
                    fix: FIX,
                }
            })?),
            None => token.map(str::to_string),
        };
    let token = token.map(|t| t.trim().to_string());
    if let Some(token) = &token {
        secrets.add(token);
    }
    let headers: Vec<(&str, &str)> = token
        .iter()
        .map(|t| ("authorization", t.as_str()))
        .collect();
    metadata_get(url, &headers, "container credentials", FIX)
        .await
        .and_then(|body| {
            from_json(&body).map_err(|why| CredentialError::ServiceRefused {
                source_name: "container credentials",
                endpoint: url.to_string(),
                why: why.to_string(),
                fix: FIX,
            })
        })
}

/// A GET to a metadata service: the body on 2xx, an error naming the service otherwise.
async fn metadata_get(
    url: &str,
    headers: &[(&str, &str)],
    source_name: &'static str,
    fix: &'static str,
) -> Result<Vec<u8>, CredentialError> {
    metadata_call("GET", url, headers, source_name, fix).await
}

async fn metadata_call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    source_name: &'static str,
    fix: &'static str,
) -> Result<Vec<u8>, CredentialError> {
    let down = |why: String| CredentialError::ServiceDown {
        source_name,
        endpoint: url.to_string(),
        why,
        fix,
    };
    let req = request(method, url, headers, String::new()).map_err(|e| down(e.to_string()))?;
    let (status, body) = send(req).await.map_err(|e| down(e.to_string()))?;
    match status {
        200..=299 => Ok(body),
        500.. => Err(down(format!("HTTP {status}"))),
        _ => Err(CredentialError::ServiceRefused {
            source_name,
            endpoint: url.to_string(),
            why: format!("HTTP {status}"),
            fix,
        }),
    }
}

/// IMDSv2: a session token first, then the role's name, then its credentials.
async fn imds(endpoint: &str) -> Result<Issued, CredentialError> {
    const SOURCE: &str = "instance metadata service";
    const FIX: &str =
        "the instance role, or set AWS_EC2_METADATA_DISABLED=true and configure credentials";
    let token = metadata_call(
        "PUT",
        &format!("{endpoint}/latest/api/token"),
        &[("x-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL_SECS)],
        SOURCE,
        FIX,
    )
    .await?;
    let token = String::from_utf8_lossy(&token).trim().to_string();
    let auth = [("x-aws-ec2-metadata-token", token.as_str())];
    let base = format!("{endpoint}/latest/meta-data/iam/security-credentials/");
    let roles = metadata_get(&base, &auth, SOURCE, FIX).await?;
    let roles = String::from_utf8_lossy(&roles);
    let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(CredentialError::ServiceRefused {
            source_name: SOURCE,
            endpoint: endpoint.to_string(),
            why: "this instance has no role".into(),
            fix: FIX,
        });
    };
    let body = metadata_get(&format!("{base}{role}"), &auth, SOURCE, FIX).await?;
    from_json(&body).map_err(|why| CredentialError::ServiceRefused {
        source_name: SOURCE,
        endpoint: endpoint.to_string(),
        why: why.to_string(),
        fix: FIX,
    })
}
