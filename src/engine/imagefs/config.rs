//! The image's config JSON (the `Config` file that `manifest.json` names in a `docker save`
//! stream): its layers' diff ids, its build history and its `USER`.

use serde_json::Value;

/// One step of the image's history, as `docker history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryStep {
    /// The instruction, e.g. `/bin/sh -c #(nop)  ENV A=1` or `RUN /bin/sh -c make # buildkit`.
    pub created_by: String,
    /// True for a step that changed only metadata (ENV, CMD, LABEL, …): it has no layer.
    pub empty_layer: bool,
}

/// What the config says about the image's layers and build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `rootfs.diff_ids`: the digests of the uncompressed layers, bottom first
    /// (`sha256:…`), the same as `docker inspect`'s `RootFS.Layers`.
    pub diff_ids: Vec<String>,
    /// `history`, oldest first (`docker history` prints it newest first).
    pub history: Vec<HistoryStep>,
    /// `config.User`, empty when unset.
    pub user: String,
}

impl ImageConfig {
    /// Parses the config JSON.
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, String> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the image config: {e}"))?;
        let diff_ids = v
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let history = v
            .get("history")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|h| HistoryStep {
                        created_by: h
                            .get("created_by")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        empty_layer: h
                            .get("empty_layer")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let user = v
            .pointer("/config/User")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Ok(ImageConfig {
            diff_ids,
            history,
            user,
        })
    }

    /// The `created_by` of every step, oldest first.
    pub fn created_by(&self) -> Vec<&str> {
        self.history.iter().map(|h| h.created_by.as_str()).collect()
    }
}

/// Whether an image with layers `image` (diff ids, bottom first) is built on one with layers
/// `base`: `base`'s layers are `image`'s first layers. An image is based on itself; every
/// image is based on one without layers.
pub fn based_on(image: &[String], base: &[String]) -> bool {
    base.len() <= image.len() && image[..base.len()] == *base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_legacy_builder_config() {
        let json = br#"{"architecture":"amd64","config":{"User":"appuser","Env":["A=1"]},
            "history":[{"created":"2024-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) COPY file:abc in /bin/busybox "},
                       {"created_by":"/bin/sh -c #(nop)  USER appuser","empty_layer":true},
                       {"created":"x"}],
            "rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}"#;
        let c = ImageConfig::parse(json).unwrap();
        assert_eq!(c.diff_ids, vec!["sha256:aa", "sha256:bb"]);
        assert_eq!(c.user, "appuser");
        assert_eq!(c.history.len(), 3);
        assert!(c.history[1].empty_layer);
        assert!(!c.history[0].empty_layer);
        assert_eq!(c.created_by()[2], "");
        assert!(ImageConfig::parse(b"{").is_err());
        assert_eq!(ImageConfig::parse(b"{}").unwrap(), ImageConfig::default());
    }

    #[test]
    fn based_on_is_a_prefix() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let base = s(&["a", "b"]);
        assert!(based_on(&s(&["a", "b", "c"]), &base));
        assert!(based_on(&base, &base));
        assert!(!based_on(&s(&["a"]), &base));
        assert!(!based_on(&s(&["a", "c", "b"]), &base));
        assert!(!based_on(&s(&["b", "a", "c"]), &base));
        assert!(based_on(&base, &[]));
    }
}
