//! Notices: what a client should know about an answer that is not an
//! error, such as a page cut short by the scan limit. Resolvers add them
//! to the request's [`Notices`]; the API puts them in the response's
//! `extensions.notices`, each with a `code` from the table of codes, a
//! `message` and the `path` of the field it concerns.

use std::sync::{Arc, Mutex};

use async_graphql::indexmap::IndexMap;
use async_graphql::{Context, Name, Response, Value};

use super::codes;
use crate::store::ScanBudget;

/// The notices of one request. A std mutex: held only to push or take.
#[derive(Default)]
pub(super) struct Notices(Mutex<Vec<Value>>);

impl Notices {
    /// Puts the notices, if any, in `response.extensions.notices`.
    pub(super) fn report(&self, response: &mut Response) {
        let notices = std::mem::take(&mut *self.lock());
        if !notices.is_empty() {
            response
                .extensions
                .insert("notices".to_owned(), Value::List(notices));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Notes that the page of the field being resolved stopped at the
/// request's scan limit.
pub(super) fn scan_limit(ctx: &Context<'_>) {
    let (Some(notices), Some(budget)) = (
        ctx.data_opt::<Arc<Notices>>(),
        ctx.data_opt::<Arc<ScanBudget>>(),
    ) else {
        return;
    };
    let limit = budget.limit();
    let path: Vec<Value> = ctx
        .path_node
        .map(|node| node.to_string_vec())
        .unwrap_or_default()
        .into_iter()
        .map(Value::from)
        .collect();
    let mut notice = IndexMap::new();
    notice.insert(Name::new("code"), Value::from(codes::SCAN_LIMIT));
    notice.insert(
        Name::new("message"),
        Value::from(format!(
            "this page stopped after its request read {limit} records, the scan limit: it holds what was found so far, and its endCursor (startCursor paging backwards) is where the scan stopped; follow it to go on, or narrow the filter"
        )),
    );
    notice.insert(Name::new("path"), Value::List(path));
    notices.lock().push(Value::Object(notice));
}
