//! Source kind `rss`. PLACEHOLDER: keep the signature of `collect`.

use serde::Deserialize;

use super::{CollectContext, CollectError};
use crate::model::Call;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssOptions {}

/// Collects the calls of one source of this kind.
pub async fn collect(_ctx: &mut CollectContext<'_>) -> Result<Vec<Call>, CollectError> {
    Ok(Vec::new())
}
