//! How both sidecar indexes write what a plan compares of a sidecar on their lines: the
//! engine's size, fingerprint and sha256, how the engine reached the cache (JSON, which
//! escapes any tab or newline in it), whether it was built under simulation, then the model of
//! the GPU that built it (a model key: no tab or newline). Parsing 10,000 of these is a few milliseconds, a fifth
//! of the same summaries as JSON objects.

use std::io::Write;

use crate::identity::{Fingerprint, SidecarSummary};

/// Written in place of a field that is absent.
const ABSENT: &str = "-";
/// The last field of an engine built under simulation.
const SIMULATED: &str = "simulated";

/// Appends the fields of `summary`, separated by tabs (its build inputs are never kept).
pub(super) fn encode(bytes: &mut Vec<u8>, summary: &SidecarSummary) {
    let fingerprint = summary
        .fingerprint
        .as_ref()
        .map_or(ABSENT, |f| f.0.as_str());
    let trust = summary
        .local_trust
        .as_ref()
        .map(|t| serde_json::to_string(t).expect("serializes"));
    let _ = write!(
        bytes,
        "{}\t{fingerprint}\t{}\t{}\t{}\t{}",
        summary.engine_size,
        summary.engine_sha256,
        trust.as_deref().unwrap_or(ABSENT),
        if summary.simulated { SIMULATED } else { ABSENT },
        summary
            .gpu_model
            .as_deref()
            .filter(|m| !m.is_empty() && !m.contains(['\t', '\n']))
            .unwrap_or(ABSENT),
    );
}

/// The summary in the next fields of `fields`; `None` if they are not one.
pub(super) fn decode<'a>(fields: &mut impl Iterator<Item = &'a str>) -> Option<SidecarSummary> {
    let engine_size = fields.next()?.parse().ok()?;
    let fingerprint = present(fields.next()?).map(|f| Fingerprint(f.to_string()));
    let engine_sha256 = fields.next()?.to_string();
    let local_trust = match present(fields.next()?) {
        None => None,
        Some(json) => Some(serde_json::from_str(json).ok()?),
    };
    let simulated = match fields.next()? {
        SIMULATED => true,
        ABSENT => false,
        _ => return None,
    };
    let gpu_model = present(fields.next()?).map(str::to_string);
    Some(SidecarSummary {
        fingerprint,
        engine_sha256,
        engine_size,
        local_trust,
        simulated,
        gpu_model,
        build: None,
        weights: None,
    })
}

fn present(field: &str) -> Option<&str> {
    (field != ABSENT).then_some(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::LocalTrust;

    fn summary(fingerprint: Option<&str>, local_trust: Option<LocalTrust>) -> SidecarSummary {
        SidecarSummary {
            fingerprint: fingerprint.map(|f| Fingerprint(f.into())),
            engine_sha256: "ab".repeat(32),
            engine_size: 33,
            local_trust,
            simulated: false,
            gpu_model: None,
            build: None,
            weights: None,
        }
    }

    fn round_trip(summary: &SidecarSummary) -> Option<SidecarSummary> {
        let mut bytes = Vec::new();
        encode(&mut bytes, summary);
        let text = String::from_utf8(bytes).unwrap();
        let mut fields = text.split('\t');
        decode(&mut fields).filter(|_| fields.next().is_none())
    }

    #[test]
    fn every_field_survives_the_encoding() {
        let signed = LocalTrust::Fetched {
            signer: Some("ci:AAAA".into()),
            signature: Some("{\"sig\":\"tab\\there\"}".into()),
        };
        for summary in [
            summary(Some(&"cd".repeat(32)), None),
            summary(None, Some(LocalTrust::Built)),
            summary(Some(&"ef".repeat(32)), Some(signed)),
            SidecarSummary {
                simulated: true,
                gpu_model: Some("a10g".into()),
                ..summary(None, None)
            },
        ] {
            assert_eq!(round_trip(&summary), Some(summary));
        }
    }

    #[test]
    fn short_or_garbled_fields_are_no_summary() {
        let fields = |text: &str| decode(&mut text.split('\t'));
        assert!(fields("33\t-\tabab").is_none());
        assert!(fields("3x\t-\tabab\t-\t-\t-").is_none());
        assert!(fields("33\t-\tabab\t{not json\t-\t-").is_none());
        assert!(
            fields("33\t-\tabab\t-\t-").is_none(),
            "a line of an earlier format"
        );
        assert!(fields("33\t-\tabab\t-\tperhaps\t-").is_none());
        assert!(fields("33\t-\tabab\t-\t-\ta10").is_some());
    }
}
