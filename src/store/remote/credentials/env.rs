//! The AWS variables the credential chain honours, and whether any of them points at AWS.

use std::fmt;
use std::path::PathBuf;

use super::profile::SharedPaths;

/// Where the instance metadata service lives unless the environment says otherwise.
const DEFAULT_METADATA_ENDPOINT: &str = "http://169.254.169.254";

/// The AWS variables the chain honours, read once at the edge.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AwsEnv {
    pub profile: Option<String>,
    pub config_file: Option<String>,
    pub credentials_file: Option<String>,
    pub home: Option<PathBuf>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub web_identity_token_file: Option<String>,
    pub container_relative_uri: Option<String>,
    pub container_full_uri: Option<String>,
    pub container_token: Option<String>,
    pub container_token_file: Option<String>,
    /// `AWS_EC2_METADATA_DISABLED=true`.
    pub metadata_disabled: bool,
    pub metadata_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`.
    pub sts_endpoint: Option<String>,
    /// The host's DMI data says EC2 (decided without a packet; see [`looks_like_ec2`]).
    pub on_ec2: bool,
}

impl AwsEnv {
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> AwsEnv {
        AwsEnv {
            profile: var("AWS_PROFILE"),
            config_file: var("AWS_CONFIG_FILE"),
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE"),
            home: var("HOME").map(PathBuf::from),
            role_arn: var("AWS_ROLE_ARN"),
            role_session_name: var("AWS_ROLE_SESSION_NAME"),
            web_identity_token_file: var("AWS_WEB_IDENTITY_TOKEN_FILE"),
            container_relative_uri: var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            container_full_uri: var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            container_token: var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            container_token_file: var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
            metadata_disabled: var("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            metadata_endpoint: var("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            sts_endpoint: var("AWS_ENDPOINT_URL_STS").or_else(|| var("AWS_ENDPOINT_URL")),
            on_ec2: false,
        }
    }

    pub(super) fn shared_paths(&self) -> SharedPaths {
        SharedPaths::new(
            self.config_file.as_deref(),
            self.credentials_file.as_deref(),
            self.home.as_deref(),
        )
    }

    /// Whether anything here points at AWS: a profile or shared file, web identity, container
    /// credentials, a metadata endpoint, or an EC2 host whose metadata service is not disabled.
    /// Stats two files at most and sends nothing.
    pub fn points_at_aws(&self) -> bool {
        self.profile.is_some()
            || self.web_identity_token_file.is_some()
            || self.role_arn.is_some()
            || self.container_relative_uri.is_some()
            || self.container_full_uri.is_some()
            || self.metadata_endpoint.is_some()
            || (self.on_ec2 && !self.metadata_disabled)
            || self.shared_paths().any_exists()
    }

    pub(super) fn imds_endpoint(&self) -> Option<String> {
        if self.metadata_disabled {
            return None;
        }
        match &self.metadata_endpoint {
            Some(endpoint) => Some(endpoint.trim_end_matches('/').to_string()),
            None if self.on_ec2 => Some(DEFAULT_METADATA_ENDPOINT.to_string()),
            None => None,
        }
    }
}

impl fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsEnv")
            .field("profile", &self.profile)
            .field("role_arn", &self.role_arn)
            .field("web_identity_token_file", &self.web_identity_token_file)
            .field("container_full_uri", &self.container_full_uri)
            .field(
                "container_token",
                &self.container_token.as_ref().map(|_| "<redacted>"),
            )
            .field("metadata_disabled", &self.metadata_disabled)
            .field("on_ec2", &self.on_ec2)
            .finish_non_exhaustive()
    }
}
