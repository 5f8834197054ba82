//! Trade flows: one province's trade with one partner in a year. Stored
//! under province, partner and year, with an index under partner, province
//! and year, written together in one commit.

use std::collections::HashMap;

use super::backend::{KeyRange, Space};
use super::format::Stored;
use super::keys::{i32_key, push_text, tag};
use super::pages::{paginate, Listing, Taken};
use super::txn::transact;
use super::Store;
use crate::domain::{
    Direction, Page, PageRequest, PartnerCode, ProvinceCode, TradeFlow, TradeFlowKey,
};
use crate::error::{Error, Result};

/// A page of the flows of one province or of one partner, by the other side's
/// code and then by year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TradeFlowQuery {
    /// The flows of a province.
    OfProvince(ProvinceCode, PageRequest),
    /// The flows of a partner.
    OfPartner(PartnerCode, PageRequest),
}

fn flow_key(first: &str, second: &str, year: i32) -> Vec<u8> {
    let mut key = Vec::new();
    push_text(&mut key, first);
    push_text(&mut key, second);
    key.extend_from_slice(&i32_key(year));
    key
}

fn primary_key(key: &TradeFlowKey) -> Vec<u8> {
    flow_key(key.province.as_str(), key.partner.as_str(), key.year)
}

fn partner_key(key: &TradeFlowKey) -> Vec<u8> {
    flow_key(key.partner.as_str(), key.province.as_str(), key.year)
}

/// The key of a flow's record.
fn key_of(flow: &TradeFlow) -> TradeFlowKey {
    TradeFlowKey {
        province: flow.province.clone(),
        partner: flow.partner.clone(),
        year: flow.year,
    }
}

impl Store {
    /// The flows with these keys; unknown keys are left out.
    pub async fn trade_flows(
        &self,
        keys: &[TradeFlowKey],
    ) -> Result<HashMap<TradeFlowKey, TradeFlow>> {
        self.count_call();
        let primary: Vec<Vec<u8>> = keys.iter().map(primary_key).collect();
        let values = self.backend.get_many(Space::TradeFlows, &primary).await?;
        let mut found = HashMap::with_capacity(keys.len());
        for (key, value) in keys.iter().zip(values) {
            if let Some(bytes) = value {
                found.insert(key.clone(), TradeFlow::decode(&bytes)?);
            }
        }
        Ok(found)
    }

    /// The flow with this key, if any.
    pub async fn trade_flow(&self, key: &TradeFlowKey) -> Result<Option<TradeFlow>> {
        Ok(self
            .trade_flows(std::slice::from_ref(key))
            .await?
            .remove(key))
    }

    /// Writes a flow and its index entry together.
    pub async fn put_trade_flow(&self, flow: &TradeFlow) -> Result<()> {
        let key = key_of(flow);
        let value = flow.encode()?;
        transact!(self, |txn| {
            txn.put(Space::TradeFlows, primary_key(&key), value.clone());
            txn.put(
                Space::TradeFlowsByPartner,
                partner_key(&key),
                Vec::<u8>::new(),
            );
        })?;
        Ok(())
    }

    /// Several pages of flows in one call, each with the size of its list.
    pub async fn trade_flow_pages(
        &self,
        queries: &[TradeFlowQuery],
    ) -> Result<Vec<(Page<TradeFlow>, u64)>> {
        self.count_call();
        let mut pages = Vec::with_capacity(queries.len());
        for query in queries {
            let (space, tag, code, request) = match query {
                TradeFlowQuery::OfProvince(code, request) => (
                    Space::TradeFlows,
                    tag::FLOWS_OF_PROVINCE,
                    code.as_str(),
                    request,
                ),
                TradeFlowQuery::OfPartner(code, request) => (
                    Space::TradeFlowsByPartner,
                    tag::FLOWS_OF_PARTNER,
                    code.as_str(),
                    request,
                ),
            };
            let mut prefix = Vec::new();
            push_text(&mut prefix, code);
            let listing = Listing::new(tag, prefix.clone(), Direction::Ascending);
            let page = paginate(&listing, request, |range, direction, n| async move {
                Ok(Taken::all(
                    self.take_flows(space, range, direction, n).await?,
                ))
            })
            .await?;
            // A province trades with tens of partners over a few years, so
            // counting its flows by scanning is cheap.
            let all = KeyRange::new(
                std::ops::Bound::Included(prefix.clone()),
                super::keys::prefix_end(&prefix),
            );
            let total = self
                .backend
                .scan(space, &all, Direction::Ascending, usize::MAX)
                .await?
                .len() as u64;
            pages.push((page, total));
        }
        Ok(pages)
    }

    /// Up to `n` flows of one list, read from its space (the records, or
    /// the by-partner index and then the records it names).
    async fn take_flows(
        &self,
        space: Space,
        range: KeyRange,
        direction: Direction,
        n: usize,
    ) -> Result<Vec<(Vec<u8>, TradeFlow)>> {
        let entries = self.backend.scan(space, &range, direction, n).await?;
        if space == Space::TradeFlows {
            return entries
                .into_iter()
                .map(|(key, value)| Ok((key, TradeFlow::decode(&value)?)))
                .collect();
        }
        let primary = entries
            .iter()
            .map(|(key, _)| primary_key_of_index_key(key))
            .collect::<Result<Vec<_>>>()?;
        let values = self.backend.get_many(Space::TradeFlows, &primary).await?;
        entries
            .into_iter()
            .zip(values)
            .map(|((key, _), value)| {
                let bytes = value.ok_or_else(|| {
                    Error::Corrupt(format!(
                        "trade flow index entry {} points nowhere",
                        show_flow_key(&key)
                    ))
                })?;
                Ok((key, TradeFlow::decode(&bytes)?))
            })
            .collect()
    }
}

/// The record key a by-partner index key names: its first two parts swapped.
fn primary_key_of_index_key(index_key: &[u8]) -> Result<Vec<u8>> {
    let mut parts = index_key.splitn(3, |&b| b == 0);
    let (Some(partner), Some(province), Some(year)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Corrupt("malformed trade flow index key".into()));
    };
    let mut key = Vec::with_capacity(index_key.len());
    key.extend_from_slice(province);
    key.push(0);
    key.extend_from_slice(partner);
    key.push(0);
    key.extend_from_slice(year);
    Ok(key)
}

impl Store {
    /// Every trade flow, in key order (province, partner, year), for backups.
    pub(super) async fn all_trade_flows(&self) -> Result<Vec<TradeFlow>> {
        self.backend
            .scan(
                Space::TradeFlows,
                &KeyRange::all(),
                Direction::Ascending,
                usize::MAX,
            )
            .await?
            .iter()
            .map(|(_, value)| TradeFlow::decode(value))
            .collect()
    }

    /// Checks that every flow decodes, is stored under its own key and has
    /// its by-partner entry, and that every by-partner entry has its flow
    /// (see [`Store::check`]).
    pub(super) async fn check_trade_flows(
        &self,
        report: &mut super::check::CheckReport,
    ) -> Result<()> {
        use super::check::reason;
        let (flows, by_partner) = (Space::TradeFlows, Space::TradeFlowsByPartner);
        let index: std::collections::BTreeSet<Vec<u8>> = self
            .backend
            .scan(
                by_partner,
                &KeyRange::all(),
                Direction::Ascending,
                usize::MAX,
            )
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        let mut expected_entries = std::collections::HashSet::new();
        let records = self
            .backend
            .scan(flows, &KeyRange::all(), Direction::Ascending, usize::MAX)
            .await?;
        for (key, value) in records {
            report.records += 1;
            let flow = match TradeFlow::decode(&value) {
                Ok(flow) => flow,
                Err(error) => {
                    report.found(format!(
                        "{}: {}: {}",
                        flows.name(),
                        show_flow_key(&key),
                        reason(error)
                    ));
                    continue;
                }
            };
            let flow_key = key_of(&flow);
            let own_key = primary_key(&flow_key);
            if own_key != key {
                report.found(format!(
                    "{}: the record under {} is the flow {}",
                    flows.name(),
                    show_flow_key(&key),
                    show_flow_key(&own_key)
                ));
            }
            let index_key = partner_key(&flow_key);
            if !index.contains(&index_key) {
                report.found(format!(
                    "trade flow {} is missing from {}",
                    show_flow_key(&own_key),
                    by_partner.name()
                ));
            }
            expected_entries.insert(index_key);
        }
        for key in index {
            if !expected_entries.contains(&key) {
                report.found(format!(
                    "{}: entry {} has no flow",
                    by_partner.name(),
                    show_flow_key(&key)
                ));
            }
        }
        Ok(())
    }
}

/// A flow key (either order) as a person reads it: `CN-GD/AR/2025`.
fn show_flow_key(key: &[u8]) -> String {
    let parts: Vec<&[u8]> = key.splitn(3, |&byte| byte == 0).collect();
    match parts.as_slice() {
        [first, second, year] => match (
            std::str::from_utf8(first),
            std::str::from_utf8(second),
            <[u8; 4]>::try_from(*year),
        ) {
            // The inverse of `keys::i32_key`: flip the sign bit back.
            (Ok(first), Ok(second), Ok(year)) => {
                format!("{first}/{second}/{}", i32::from_be_bytes(year) ^ i32::MIN)
            }
            _ => super::check::show_key(key),
        },
        _ => super::check::show_key(key),
    }
}

impl Store {
    /// Records a flow through the API: creates it, or replaces the stored
    /// one for the same province, partner and year, raising its version.
    /// Returns the flow as stored.
    pub async fn record_trade_flow(&self, flow: TradeFlow) -> Result<TradeFlow> {
        let key = key_of(&flow);
        let (stored, _) = transact!(self, |txn| {
            let version = match txn.get(Space::TradeFlows, &primary_key(&key)).await? {
                Some(old) => TradeFlow::decode(&old)?.meta.version + 1,
                None => 1,
            };
            let stored = TradeFlow {
                meta: crate::domain::RecordMeta {
                    version,
                    origin: crate::domain::Origin::Api,
                },
                ..flow.clone()
            };
            txn.put(Space::TradeFlows, primary_key(&key), stored.encode()?);
            txn.put(
                Space::TradeFlowsByPartner,
                partner_key(&key),
                Vec::<u8>::new(),
            );
            stored
        })?;
        Ok(stored)
    }
}
