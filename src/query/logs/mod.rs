//! TEMPORARY stub replaced by the query branch.
use tantivy::query::{AllQuery, Query, QueryParser};
use tantivy::schema::Schema;

use crate::store::logs::schema::LogFields;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Syntax(String),
}

pub fn build_query(
    q: &str,
    fields: &LogFields,
    schema: &Schema,
) -> Result<Box<dyn Query>, QueryError> {
    if q.trim().is_empty() {
        return Ok(Box::new(AllQuery));
    }
    let idx = tantivy::Index::create_in_ram(schema.clone());
    crate::store::logs::schema::register_tokenizers(idx.tokenizers());
    let p = QueryParser::for_index(&idx, vec![fields.message]);
    p.parse_query(q)
        .map_err(|e| QueryError::Syntax(e.to_string()))
}
