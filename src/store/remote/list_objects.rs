//! S3's ListObjectsV2, sent and read by trtctl itself.
//!
//! A no-op plan of 10,000 engines lists 20,000 objects. The object store's client turns each
//! page into full object descriptions through serde (about 2 µs an object, most of a warm
//! plan's listing cost); a plan needs four fields of each. This client reads just those with
//! quick-xml's pull parser. It signs with the object store's own SigV4 (`AwsAuthorizer`) and
//! credential provider, and sends through the remote's HTTP client, so the bound on requests
//! in flight and the resending of requests that never left apply to it as to every request.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use object_store::RetryConfig;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpError, HttpRequestBody};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::events::Event;

use super::retry::{Backoff, Transient, retrying_by};

/// What SigV4 leaves unencoded in a query: RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Lists one bucket.
#[derive(Debug, Clone)]
pub(super) struct S3Lister {
    pub(super) client: HttpClient,
    /// `{endpoint}/{bucket}`: path-style, as the object store addresses the bucket.
    pub(super) bucket_url: String,
    pub(super) region: String,
    /// `None`: anonymous, unsigned requests.
    pub(super) credentials: Option<AwsCredentialProvider>,
    /// The object store's policy for its own requests, applied to these.
    pub(super) retry: RetryConfig,
}

/// What a LIST page says of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListedObject {
    pub(super) key: String,
    pub(super) size: u64,
    pub(super) e_tag: Option<String>,
    pub(super) last_modified_ms: i64,
}

/// One page and where the next one starts, if there is one.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ListPage {
    pub(super) objects: Vec<ListedObject>,
    pub(super) next: Option<String>,
}

/// Why a page did not come back.
#[derive(Debug, thiserror::Error)]
pub(super) enum ListFailure {
    #[error(transparent)]
    Transport(HttpError),
    #[error(transparent)]
    Credentials(object_store::Error),
    /// The endpoint and names do not make a request (never sent).
    #[error("{0}")]
    Unsendable(http::Error),
    #[error("HTTP {status}")]
    Status { status: u16, body: String },
    #[error(transparent)]
    Malformed(#[from] NotAPage),
}

/// A 2xx answer that is not a ListObjectsV2 page.
#[derive(Debug, thiserror::Error)]
#[error("the answer is not a ListObjectsV2 page ({0})")]
pub(super) struct NotAPage(String);

impl NotAPage {
    fn new(why: &str) -> NotAPage {
        NotAPage(why.to_string())
    }
}

impl From<quick_xml::Error> for NotAPage {
    fn from(e: quick_xml::Error) -> NotAPage {
        NotAPage(e.to_string())
    }
}

impl Transient for ListFailure {
    /// Whether asking again may help: a dropped connection, a server error or SlowDown, a page
    /// that came garbled; not refused credentials or a missing bucket.
    fn is_transient(&self) -> bool {
        match self {
            ListFailure::Transport(_) | ListFailure::Malformed(_) => true,
            ListFailure::Status { status, .. } => *status >= 500 || *status == 429,
            ListFailure::Credentials(_) | ListFailure::Unsendable(_) => false,
        }
    }
}

impl S3Lister {
    /// The page of the keys under `prefix` after `start_after`, or the page `token` continues
    /// to, of at most `max_keys` keys (the server's page, 1,000 on S3, when `None`); asked again
    /// after a transient failure, on the object store's schedule.
    pub(super) async fn page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<&str>,
        max_keys: Option<usize>,
    ) -> Result<ListPage, ListFailure> {
        let backoff = Backoff {
            retries: self.retry.max_retries,
            first_wait: self.retry.backoff.init_backoff,
            factor: self.retry.backoff.base,
            longest_wait: self.retry.backoff.max_backoff,
            give_up_after: Some(self.retry.retry_timeout),
            jitter: true,
        };
        retrying_by(&backoff, || {
            self.page_once(prefix, start_after, token, max_keys)
        })
        .await
    }

    async fn page_once(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<&str>,
        max_keys: Option<usize>,
    ) -> Result<ListPage, ListFailure> {
        let mut url = format!("{}?list-type=2&prefix={}", self.bucket_url, encoded(prefix));
        if let Some(after) = start_after {
            url.push_str("&start-after=");
            url.push_str(&encoded(after));
        }
        if let Some(token) = token {
            url.push_str("&continuation-token=");
            url.push_str(&encoded(token));
        }
        if let Some(max_keys) = max_keys {
            url.push_str(&format!("&max-keys={max_keys}"));
        }
        let mut request = http::Request::builder()
            .method(http::Method::GET)
            .uri(&url)
            .body(HttpRequestBody::empty())
            .map_err(ListFailure::Unsendable)?;
        if let Some(provider) = &self.credentials {
            let credential = provider
                .get_credential()
                .await
                .map_err(ListFailure::Credentials)?;
            AwsAuthorizer::new(&credential, "s3", &self.region)
                .try_authorize(&mut request, None)
                .map_err(ListFailure::Credentials)?;
        }
        let response = self
            .client
            .execute(request)
            .await
            .map_err(ListFailure::Transport)?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(ListFailure::Transport)?;
        if !(200..300).contains(&status) {
            return Err(ListFailure::Status {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok(parse_page(&body)?)
    }
}

fn encoded(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// The objects of a ListObjectsV2 answer and its continuation token when it is truncated.
pub(super) fn parse_page(xml: &[u8]) -> Result<ListPage, NotAPage> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut page = ListPage::default();
    let mut object: Option<Partial> = None;
    let mut truncated = false;
    let mut token = None;
    let mut complete = false;
    loop {
        match reader.read_event().map_err(NotAPage::from)? {
            Event::Start(start) => {
                let name = start.local_name();
                match (name.as_ref(), object.as_mut()) {
                    (b"Contents", _) => object = Some(Partial::default()),
                    (b"Key" | b"Size" | b"ETag" | b"LastModified", Some(partial)) => {
                        let text = text_of(&mut reader, start.name())?;
                        partial.set(name.as_ref(), text)?;
                    }
                    (b"IsTruncated", None) => {
                        truncated = text_of(&mut reader, start.name())? == "true";
                    }
                    (b"NextContinuationToken", None) => {
                        token = Some(text_of(&mut reader, start.name())?);
                    }
                    _ => {}
                }
            }
            Event::End(end) => match end.local_name().as_ref() {
                b"Contents" => {
                    let partial = object
                        .take()
                        .ok_or_else(|| NotAPage::new("</Contents> alone"))?;
                    page.objects.push(partial.finish()?);
                }
                b"ListBucketResult" => complete = true,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !complete {
        return Err(NotAPage::new("cut short: no </ListBucketResult>"));
    }
    page.next = match (truncated, token) {
        (true, Some(token)) if !token.is_empty() => Some(token.into_owned()),
        (true, _) => return Err(NotAPage::new("truncated without a NextContinuationToken")),
        (false, _) => None,
    };
    Ok(page)
}

/// The text of the element just started, entities resolved, nothing trimmed: a key may end in
/// a space. Borrowed from the page where nothing was escaped: most fields are only parsed.
fn text_of<'i>(
    reader: &mut quick_xml::Reader<&'i [u8]>,
    name: quick_xml::name::QName<'_>,
) -> Result<Cow<'i, str>, NotAPage> {
    let raw = reader.read_text(name)?;
    let raw = raw.decode().map_err(|e| NotAPage(e.to_string()))?;
    let unescaped = quick_xml::escape::unescape(&raw).map_err(|e| NotAPage(e.to_string()))?;
    Ok(match unescaped {
        Cow::Borrowed(_) => raw,
        Cow::Owned(text) => Cow::Owned(text),
    })
}

/// An object's fields as they are read.
#[derive(Default)]
struct Partial {
    key: Option<String>,
    size: Option<u64>,
    e_tag: Option<String>,
    last_modified_ms: Option<i64>,
}

impl Partial {
    fn set(&mut self, field: &[u8], text: Cow<'_, str>) -> Result<(), NotAPage> {
        match field {
            b"Key" => self.key = Some(text.into_owned()),
            b"Size" => {
                let size = text
                    .parse()
                    .map_err(|_| NotAPage(format!("bad <Size> `{text}`")))?;
                self.size = Some(size);
            }
            b"ETag" => self.e_tag = Some(text.into_owned()).filter(|t| !t.is_empty()),
            _ => {
                let at: DateTime<Utc> = text
                    .parse()
                    .map_err(|_| NotAPage(format!("bad <LastModified> `{text}`")))?;
                self.last_modified_ms = Some(at.timestamp_millis());
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<ListedObject, NotAPage> {
        let key = self
            .key
            .ok_or_else(|| NotAPage::new("an object without <Key>"))?;
        let missing = |field: &str| NotAPage(format!("{key}: no <{field}>"));
        Ok(ListedObject {
            size: self.size.ok_or_else(|| missing("Size"))?,
            last_modified_ms: self
                .last_modified_ms
                .ok_or_else(|| missing("LastModified"))?,
            e_tag: self.e_tag,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>engines/fam/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>engines/fam/a&amp;b.trt</Key>
    <LastModified>2026-12-04T16:33:33.250Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>
    <Size>434234</Size>
    <Owner><ID>x</ID><DisplayName>y</DisplayName></Owner>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>engines/fam/a.trt.json</Key><LastModified>2026-12-04T16:33:34Z</LastModified>
    <Size>12</Size>
  </Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>"#;

    #[test]
    fn a_page_gives_each_object_and_the_next_token() {
        let page = parse_page(PAGE.as_bytes()).unwrap();
        assert_eq!(
            page.objects,
            vec![
                ListedObject {
                    key: "engines/fam/a&b.trt".into(),
                    size: 434234,
                    e_tag: Some("\"9b2cf535f27731c974343645a3985328\"".into()),
                    last_modified_ms: 1_796_402_013_250,
                },
                ListedObject {
                    key: "engines/fam/a.trt.json".into(),
                    size: 12,
                    e_tag: None,
                    last_modified_ms: 1_796_402_014_000,
                },
            ]
        );
        assert_eq!(
            page.next.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
        let last = PAGE.replace("<IsTruncated>true", "<IsTruncated>false");
        assert_eq!(parse_page(last.as_bytes()).unwrap().next, None);
        // A key is taken as it is: one ending in a space is not the engine without it.
        let spaced = PAGE.replace(".trt.json</Key>", ".trt.json </Key>");
        let objects = parse_page(spaced.as_bytes()).unwrap().objects;
        assert_eq!(objects[1].key, "engines/fam/a.trt.json ");
    }

    #[test]
    fn a_page_that_is_not_one_is_refused() {
        for (broken, why) in [
            (PAGE.replace("<Size>12</Size>", ""), "no <Size>"),
            (PAGE.replace("<Size>12<", "<Size>twelve<"), "bad <Size>"),
            (PAGE.replace("34Z<", "yesterday<"), "bad <LastModified>"),
            (
                PAGE.replace("<NextContinuationToken>1ueG", "<Other>1ueG")
                    .replace("=</NextContinuationToken>", "=</Other>"),
                "without a NextContinuationToken",
            ),
            (PAGE.replace("</ListBucketResult>", ""), "cut short"),
            (PAGE[..PAGE.len() / 2].to_string(), ""),
        ] {
            let err = parse_page(broken.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn server_trouble_is_asked_again_refusals_are_not() {
        let status = |status| ListFailure::Status {
            status,
            body: String::new(),
        };
        for transient in [500, 503, 429] {
            assert!(status(transient).is_transient(), "{transient}");
        }
        for refused in [400, 403, 404, 301] {
            assert!(!status(refused).is_transient(), "{refused}");
        }
        assert!(ListFailure::Malformed(NotAPage::new("cut")).is_transient());
    }

    #[test]
    fn query_values_are_encoded_as_sigv4_wants() {
        assert_eq!(
            encoded("engines/fam/a b+c~_.-"),
            "engines%2Ffam%2Fa%20b%2Bc~_.-"
        );
    }
}
