//! Fairness by default: each client (an IPv4 address, an IPv6 /64 or a
//! write token) has its own cost budget, on with the default flags; a
//! forwarded address counts only from a trusted proxy; cached answers are
//! charged too. The servers here keep the default budget rule (ten of the
//! costliest queries a minute) over a small `--max-cost`, so a budget is
//! spent in a few requests.

use crate::helpers::{spawn_configured, Reply, TestApp};

/// 20 provinces with their codes: 41 at the time of writing; the tests read
/// the cost from the first answer rather than assume it.
const QUERY: &str = "{ provinces(first: 20) { nodes { code } } }";

/// The highest query cost of the servers here: their default budget is ten
/// times this a minute, 10 a second.
const MAX_COST: u64 = 60;

/// A server with `--max-cost 60` and no budget flag, and whatever else
/// `edit` sets.
async fn spawn_with_small_budget(edit: impl FnOnce(&mut tradegraph::config::ServeArgs)) -> TestApp {
    spawn_configured(|args| {
        args.limits.max_cost = MAX_COST;
        edit(args);
    })
    .await
}

/// Sends the query from `from` with `headers` until it is refused; returns
/// how many were answered, the refusal and the cost of one answer.
async fn spend_budget(app: &TestApp, from: [u8; 4], headers: &[(&str, &str)]) -> (u64, Reply, u64) {
    let mut cost = 0;
    for answered in 0..=MAX_COST * 10 {
        let reply = app.post_from(from, QUERY, headers).await;
        if reply.status != 200 {
            return (answered, reply, cost);
        }
        cost = reply.json()["extensions"]["cost"]["requested"]
            .as_u64()
            .expect("every answer reports its cost");
    }
    panic!("the budget was never spent");
}

/// Asserts that a reply is the refusal of a spent budget.
#[track_caller]
fn assert_rate_limited(reply: &Reply) {
    assert_eq!(reply.status, 429, "{}", reply.body);
    let body = reply.json();
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(error["extensions"]["limit"], MAX_COST * 10);
    let retry = error["extensions"]["retryAfterSeconds"]
        .as_u64()
        .expect("retryAfterSeconds");
    assert!(retry >= 1, "{body}");
    assert_eq!(reply.header("retry-after"), retry.to_string());
    assert_eq!(body.get("data"), None);
}

#[actix_web::test]
async fn a_client_past_the_default_budget_is_refused_while_another_is_served() {
    let app = spawn_with_small_budget(|_| {}).await;

    let (answered, refused, cost) = spend_budget(&app, [127, 0, 0, 1], &[]).await;
    let other = app.post_from([127, 0, 0, 2], QUERY, &[]).await;
    let again = app.post_from([127, 0, 0, 1], QUERY, &[]).await;

    // A full bucket of 600 pays for this many; the refill in the moments
    // the requests take (10 a second) is less than one more.
    assert_eq!(answered, MAX_COST * 10 / cost);
    assert_rate_limited(&refused);
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(
        other.json()["data"]["provinces"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(20)
    );
    assert_rate_limited(&again);
}

#[actix_web::test]
async fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    let app = spawn_with_small_budget(|args| {
        args.trusted_proxies = vec!["127.0.0.2".parse().unwrap()];
    })
    .await;
    let forwarded = |address| [("x-forwarded-for", address)];

    // Through the trusted proxy, 203.0.113.7 spends its budget...
    let (answered, refused, cost) =
        spend_budget(&app, [127, 0, 0, 2], &forwarded("203.0.113.7")).await;
    assert_eq!(answered, MAX_COST * 10 / cost);
    assert_rate_limited(&refused);
    // ...which neither another forwarded client nor the proxy itself shares,
    let other = app
        .post_from([127, 0, 0, 2], QUERY, &forwarded("203.0.113.8"))
        .await;
    assert_eq!(other.status, 200, "{}", other.body);
    let proxy = app.post_from([127, 0, 0, 2], QUERY, &[]).await;
    assert_eq!(proxy.status, 200, "{}", proxy.body);
    // ...and which an address the client wrote to the left cannot escape.
    let spoofed = app
        .post_from(
            [127, 0, 0, 2],
            QUERY,
            &forwarded("198.51.100.1, 203.0.113.7"),
        )
        .await;
    assert_rate_limited(&spoofed);

    // From a peer that is no trusted proxy the header is ignored: every
    // request counts as 127.0.0.1, whatever address it forwards.
    let mut answered = 0;
    let refused = loop {
        let address = format!("203.0.113.{}", 10 + answered);
        let reply = app
            .post_from([127, 0, 0, 1], QUERY, &[("x-forwarded-for", &address)])
            .await;
        if reply.status != 200 {
            break reply;
        }
        answered += 1;
    };
    assert_eq!(answered, MAX_COST * 10 / cost);
    assert_rate_limited(&refused);
}

#[actix_web::test]
async fn cached_answers_are_charged_and_the_cache_keeps_serving_with_a_budget() {
    let app = spawn_with_small_budget(|args| args.response_cache_mb = 1).await;
    let first = app.post_from([127, 0, 0, 1], QUERY, &[]).await;
    assert_eq!(first.status, 200);
    let calls = app.store.calls();

    let (answered, refused, cost) = spend_budget(&app, [127, 0, 0, 1], &[]).await;
    let other = app.post_from([127, 0, 0, 2], QUERY, &[]).await;

    // The first answer took one share; every repeat came from the cache
    // and took one more, until the bucket was empty.
    assert_eq!(app.store.calls(), calls, "every repeat came from the cache");
    assert_eq!(answered + 1, MAX_COST * 10 / cost);
    assert_rate_limited(&refused);
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(other.body, first.body);
    assert_eq!(
        app.store.calls(),
        calls,
        "another client is served from the cache"
    );
}

#[actix_web::test]
async fn a_budget_of_zero_turns_the_budget_off() {
    let app = spawn_with_small_budget(|args| args.limits.cost_budget_per_minute = Some(0)).await;
    for _ in 0..MAX_COST {
        let reply = app.post_from([127, 0, 0, 1], QUERY, &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}
