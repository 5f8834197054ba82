//! Trade flows: one province's trade with one partner in a year. Stored
//! under province, partner and year, with an index under partner, province
//! and year, written together in one transaction.

use std::collections::HashMap;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::codec::{decode, encode};
use super::keys::{i32_key, push_text};
use super::pages::{paginate, Listing};
use super::Store;
use crate::domain::{
    Direction, Page, PageRequest, PartnerCode, ProvinceCode, TradeFlow, TradeFlowKey,
};
use crate::error::{Error, Result};

/// Position tags of the two flow lists.
const TAG_BY_PROVINCE: u8 = 0x08;
const TAG_BY_PARTNER: u8 = 0x09;

/// The trees of trade flows.
pub(super) struct FlowTrees {
    /// province, partner, year -> flow.
    flows: sled::Tree,
    /// partner, province, year -> (empty).
    by_partner: sled::Tree,
}

impl FlowTrees {
    pub(super) fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            flows: db.open_tree("trade_flows")?,
            by_partner: db.open_tree("trade_flows_by_partner")?,
        })
    }
}

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

impl Store {
    /// The flows with these keys; unknown keys are left out.
    pub fn trade_flows(&self, keys: &[TradeFlowKey]) -> Result<HashMap<TradeFlowKey, TradeFlow>> {
        self.count_call();
        let mut found = HashMap::with_capacity(keys.len());
        for key in keys {
            if let Some(bytes) = self.trees.flows.flows.get(primary_key(key))? {
                found.insert(key.clone(), decode(&bytes, "trade flow")?);
            }
        }
        Ok(found)
    }

    /// The flow with this key, if any.
    pub fn trade_flow(&self, key: &TradeFlowKey) -> Result<Option<TradeFlow>> {
        Ok(self.trade_flows(std::slice::from_ref(key))?.remove(key))
    }

    /// Writes a flow and its index entry in one transaction.
    pub fn put_trade_flow(&self, flow: &TradeFlow) -> Result<()> {
        let key = TradeFlowKey {
            province: flow.province.clone(),
            partner: flow.partner.clone(),
            year: flow.year,
        };
        let value = encode(flow)?;
        let trees = &self.trees.flows;
        (&trees.flows, &trees.by_partner)
            .transaction(|(flows, by_partner)| {
                flows.insert(primary_key(&key), value.as_slice())?;
                by_partner.insert(partner_key(&key), &[])?;
                Ok::<_, ConflictableTransactionError<Error>>(())
            })
            .map_err(super::from_transaction)?;
        self.commit.committed();
        Ok(())
    }

    /// Several pages of flows in one call, each with the size of its list.
    pub fn trade_flow_pages(
        &self,
        queries: &[TradeFlowQuery],
    ) -> Result<Vec<(Page<TradeFlow>, u64)>> {
        self.count_call();
        let trees = &self.trees.flows;
        queries
            .iter()
            .map(|query| {
                let (tree, tag, code, request) = match query {
                    TradeFlowQuery::OfProvince(code, request) => {
                        (&trees.flows, TAG_BY_PROVINCE, code.as_str(), request)
                    }
                    TradeFlowQuery::OfPartner(code, request) => {
                        (&trees.by_partner, TAG_BY_PARTNER, code.as_str(), request)
                    }
                };
                let mut prefix = Vec::new();
                push_text(&mut prefix, code);
                let listing = Listing::new(tag, prefix.clone(), Direction::Ascending);
                let by_partner = matches!(query, TradeFlowQuery::OfPartner(..));
                let scan = |lower, upper| {
                    tree.range::<Vec<u8>, _>((lower, upper)).map(move |entry| {
                        let (key, value) = entry?;
                        let flow = if by_partner {
                            self.flow_for_index_key(&key)?
                        } else {
                            decode(&value, "trade flow")?
                        };
                        Ok((key.to_vec(), flow))
                    })
                };
                let page = paginate(&listing, request, scan)?;
                // A province trades with tens of partners over a few years, so
                // counting its flows by scanning is cheap.
                let total = tree
                    .scan_prefix(&prefix)
                    .try_fold(0, |count, entry| entry.map(|_| count + 1))?;
                Ok((page, total))
            })
            .collect()
    }

    /// Reads the flow an entry of the by-partner index names.
    fn flow_for_index_key(&self, index_key: &[u8]) -> Result<TradeFlow> {
        let mut parts = index_key.splitn(3, |&b| b == 0);
        let (Some(partner), Some(province), Some(year)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Corrupt("malformed trade flow index key".into()));
        };
        let partner = std::str::from_utf8(partner)
            .map_err(|_| Error::Corrupt("trade flow index key is not text".into()))?;
        let province = std::str::from_utf8(province)
            .map_err(|_| Error::Corrupt("trade flow index key is not text".into()))?;
        let mut key = Vec::new();
        push_text(&mut key, province);
        push_text(&mut key, partner);
        key.extend_from_slice(year);
        let bytes = self.trees.flows.flows.get(&key)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "trade flow index entry {partner}/{province} points nowhere"
            ))
        })?;
        decode(&bytes, "trade flow")
    }
}

impl Store {
    /// Every trade flow, in key order (province, partner, year), for backups.
    pub(super) fn scan_trade_flows(&self) -> impl Iterator<Item = Result<TradeFlow>> + '_ {
        self.trees
            .flows
            .flows
            .iter()
            .values()
            .map(|value| decode(&value?, "trade flow"))
    }

    /// Whether any trade flow or index entry is stored.
    pub(super) fn has_trade_flows(&self) -> bool {
        !(self.trees.flows.flows.is_empty() && self.trees.flows.by_partner.is_empty())
    }

    /// Checks that every flow decodes, is stored under its own key and has
    /// its by-partner entry, and that every by-partner entry has its flow
    /// (see [`Store::check`]).
    pub(super) fn check_trade_flows(&self, report: &mut super::check::CheckReport) -> Result<()> {
        use super::check::{reason, tree_name};
        let trees = &self.trees.flows;
        let mut expected_entries = std::collections::HashSet::new();
        for entry in trees.flows.iter() {
            let (key, value) = entry?;
            report.records += 1;
            let flow: TradeFlow = match decode(&value, "trade flow") {
                Ok(flow) => flow,
                Err(error) => {
                    report.found(format!(
                        "{}: {}: {}",
                        tree_name(&trees.flows),
                        show_flow_key(&key),
                        reason(error)
                    ));
                    continue;
                }
            };
            let flow_key = TradeFlowKey {
                province: flow.province.clone(),
                partner: flow.partner.clone(),
                year: flow.year,
            };
            let own_key = primary_key(&flow_key);
            if own_key != key.as_ref() {
                report.found(format!(
                    "{}: the record under {} is the flow {}",
                    tree_name(&trees.flows),
                    show_flow_key(&key),
                    show_flow_key(&own_key)
                ));
            }
            let index_key = partner_key(&flow_key);
            if !trees.by_partner.contains_key(&index_key)? {
                report.found(format!(
                    "trade flow {} is missing from {}",
                    show_flow_key(&own_key),
                    tree_name(&trees.by_partner)
                ));
            }
            expected_entries.insert(index_key);
        }
        for key in trees.by_partner.iter().keys() {
            let key = key?;
            if !expected_entries.contains(key.as_ref()) {
                report.found(format!(
                    "{}: entry {} has no flow",
                    tree_name(&trees.by_partner),
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
    pub fn record_trade_flow(&self, flow: TradeFlow) -> Result<TradeFlow> {
        let key = TradeFlowKey {
            province: flow.province.clone(),
            partner: flow.partner.clone(),
            year: flow.year,
        };
        let trees = &self.trees.flows;
        let stored = (&trees.flows, &trees.by_partner)
            .transaction(|(flows, by_partner)| {
                let version = match flows.get(primary_key(&key))? {
                    Some(old) => {
                        let old: TradeFlow = decode(&old, "trade flow")
                            .map_err(ConflictableTransactionError::Abort)?;
                        old.meta.version + 1
                    }
                    None => 1,
                };
                let stored = TradeFlow {
                    meta: crate::domain::RecordMeta {
                        version,
                        origin: crate::domain::Origin::Api,
                    },
                    ..flow.clone()
                };
                let value = encode(&stored).map_err(ConflictableTransactionError::Abort)?;
                flows.insert(primary_key(&key), value)?;
                by_partner.insert(partner_key(&key), &[])?;
                Ok(stored)
            })
            .map_err(super::from_transaction)?;
        self.commit.committed();
        Ok(stored)
    }
}
