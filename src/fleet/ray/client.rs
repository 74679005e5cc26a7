//! Ray's Jobs REST API (the dashboard's `/api/jobs/`), through the HTTP client the remote
//! already uses.

use std::collections::BTreeMap;
use std::time::Duration;

use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequestBody, ReqwestConnector,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum RayError {
    #[error(
        "cannot reach Ray's Jobs API at {url} (the dashboard's address, e.g. http://HEAD:8265)"
    )]
    Unreachable {
        url: String,
        #[source]
        source: HttpError,
    },
    #[error("Ray's Jobs API at {url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("Ray's Jobs API at {url} answered something else than a job: {why}")]
    BadReply { url: String, why: String },
    #[error("bad Ray address `{url}`: {why}")]
    BadUrl { url: String, why: String },
    #[error("Ray no longer knows job {job}: it was deleted while trtctl waited on it")]
    Vanished { job: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobStatus {
    Pending,
    Running,
    Stopped,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Stopped | JobStatus::Succeeded | JobStatus::Failed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Stopped => "STOPPED",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
        }
    }
}

/// What Ray says of one job (the fields trtctl reads).
#[derive(Debug, Clone, Deserialize)]
pub struct JobDetails {
    pub status: JobStatus,
    #[serde(default)]
    pub message: Option<String>,
}

/// A job to submit; `runtime_env` carries the credentials, never the entrypoint.
#[derive(Debug, Clone, Serialize)]
pub struct JobRequest {
    pub entrypoint: String,
    pub submission_id: String,
    pub runtime_env: serde_json::Value,
    pub entrypoint_num_cpus: f64,
    pub entrypoint_resources: BTreeMap<String, f64>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Logs {
    logs: String,
}

pub struct RayClient {
    base: String,
    http: HttpClient,
}

impl RayClient {
    pub fn new(address: &str) -> Result<RayClient, RayError> {
        let base = address.trim_end_matches('/').to_string();
        let bad = |why: String| RayError::BadUrl {
            url: address.to_string(),
            why,
        };
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(bad(
                "expected http://HOST:PORT (the dashboard's address)".into()
            ));
        }
        let options = ClientOptions::new()
            .with_allow_http(true)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(30));
        let http =
            (ReqwestConnector::default().connect(&options)).map_err(|e| bad(e.to_string()))?;
        Ok(RayClient { base, http })
    }

    /// The job of `submission_id`, or `None` where Ray has none.
    pub async fn job(&self, submission_id: &str) -> Result<Option<JobDetails>, RayError> {
        let url = format!("{}/api/jobs/{submission_id}", self.base);
        match self.send("GET", &url, String::new()).await? {
            (404, _) => Ok(None),
            (200, body) => decode(&url, &body).map(Some),
            (status, body) => Err(refused(url, status, &body)),
        }
    }

    pub async fn submit(&self, job: &JobRequest) -> Result<(), RayError> {
        let url = format!("{}/api/jobs/", self.base);
        let body = serde_json::to_string(job).expect("a job request encodes");
        match self.send("POST", &url, body).await? {
            (200, _) => Ok(()),
            (status, body) => Err(refused(url, status, &body)),
        }
    }

    pub async fn logs(&self, submission_id: &str) -> Result<String, RayError> {
        let url = format!("{}/api/jobs/{submission_id}/logs", self.base);
        match self.send("GET", &url, String::new()).await? {
            (200, body) => Ok(decode::<Logs>(&url, &body)?.logs),
            (status, body) => Err(refused(url, status, &body)),
        }
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        body: String,
    ) -> Result<(u16, Vec<u8>), RayError> {
        let unreachable = |source| RayError::Unreachable {
            url: url.to_string(),
            source,
        };
        let request = http::Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", "application/json")
            .body(HttpRequestBody::from(body))
            .map_err(|e| RayError::BadUrl {
                url: url.to_string(),
                why: e.to_string(),
            })?;
        let response = self.http.execute(request).await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let bytes = response.into_body().bytes().await.map_err(unreachable)?;
        Ok((status, bytes.to_vec()))
    }
}

fn decode<T: serde::de::DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, RayError> {
    serde_json::from_slice(body).map_err(|e| RayError::BadReply {
        url: url.to_string(),
        why: e.to_string(),
    })
}

/// Ray answers an error with a Python traceback: its last line says what went wrong.
fn refused(url: String, status: u16, body: &[u8]) -> RayError {
    let text = String::from_utf8_lossy(body);
    let last = (text.lines().rev())
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    RayError::Refused {
        url,
        status,
        body: last.trim().to_string(),
    }
}
