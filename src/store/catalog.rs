//! The small catalogs: the national summary, provinces, partners, hubs,
//! companies and freight routes. Each lives in its own tree under its code.
//! Catalogs hold tens of records, so they are read from decoded snapshots
//! (`snapshots`), and their lists are sorted in memory and paged with the
//! same keyset positions as the large lists.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::backend::{KeyRange, Space};
use super::format::Stored;
use super::keys::{decimal_key, i32_key, push_text, tag};
use super::pages::{paginate, take_sorted, Listing};
use super::snapshots::Snapshot;
use super::txn::transact;
use super::Store;
use crate::domain::{
    rank, Company, CompanyCode, Direction, FreightRoute, Hub, HubCode, HubKind, MatchRank,
    NationalSummary, Page, PageRequest, PartnerCode, PartnerKind, Province, ProvinceCode,
    ProvinceOrderField, Record, RouteCode, TradePartner, TransportMode, REPORT_YEAR,
};
use crate::error::{Error, Result};

/// A record kept in a catalog tree under its code.
pub trait Catalog:
    Record + Stored + Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync + 'static
{
    /// The code that names a record.
    type Code: Clone + Eq + Hash + std::fmt::Display + Send + Sync;
    /// The key space the records live in.
    const SPACE: Space;
    /// The record's code.
    fn code(&self) -> Self::Code;
    /// The key a code is stored under.
    fn key(code: &Self::Code) -> Vec<u8>;
}

macro_rules! catalog {
    ($record:ty, $code:ty, $space:ident, |$r:ident| $code_of:expr, |$c:ident| $key:expr) => {
        impl Catalog for $record {
            type Code = $code;
            const SPACE: Space = Space::$space;
            fn code(&self) -> $code {
                let $r = self;
                $code_of
            }
            fn key($c: &$code) -> Vec<u8> {
                $key
            }
        }
    };
}

catalog!(NationalSummary, i32, National, |r| r.year, |c| i32_key(*c)
    .to_vec());
catalog!(Province, ProvinceCode, Provinces, |r| r.code.clone(), |c| c
    .as_str()
    .as_bytes()
    .to_vec());
catalog!(
    TradePartner,
    PartnerCode,
    Partners,
    |r| r.code.clone(),
    |c| c.as_str().as_bytes().to_vec()
);
catalog!(Hub, HubCode, Hubs, |r| r.code.clone(), |c| c
    .as_str()
    .as_bytes()
    .to_vec());
catalog!(Company, CompanyCode, Companies, |r| r.code.clone(), |c| c
    .as_str()
    .as_bytes()
    .to_vec());
catalog!(FreightRoute, RouteCode, Routes, |r| r.code.clone(), |c| c
    .as_str()
    .as_bytes()
    .to_vec());

/// A page of freight routes: those that serve a province, reach a partner
/// or travel a way (all given conditions), by code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteQuery {
    /// Serves this province.
    pub province: Option<ProvinceCode>,
    /// Reaches this partner.
    pub partner: Option<PartnerCode>,
    /// Travels this way.
    pub mode: Option<TransportMode>,
    /// The window.
    pub request: PageRequest,
}

/// A page and the number of items in the whole list.
pub type Counted<T> = (Page<T>, u64);

impl Store {
    /// The records with these codes; unknown codes are left out.
    pub async fn get_many<R: Catalog>(&self, codes: &[R::Code]) -> Result<HashMap<R::Code, R>> {
        self.count_call();
        let snapshot = self.snapshot::<R>().await?;
        Ok(codes
            .iter()
            .filter_map(|code| Some((code.clone(), snapshot.get(code)?.clone())))
            .collect())
    }

    /// The record with this code, if any.
    pub async fn get<R: Catalog>(&self, code: &R::Code) -> Result<Option<R>> {
        Ok(self
            .get_many::<R>(std::slice::from_ref(code))
            .await?
            .remove(code))
    }

    /// Every record of a catalog, in code order.
    pub async fn all<R: Catalog>(&self) -> Result<Vec<R>> {
        self.count_call();
        Ok(self.snapshot::<R>().await?.records.clone())
    }

    /// How many records a catalog holds; not counted as a store call, since
    /// only the limits ask, before a request runs.
    pub async fn catalog_size<R: Catalog>(&self) -> Result<u64> {
        Ok(self.snapshot::<R>().await?.records.len() as u64)
    }

    /// The decoded records of a catalog: the snapshot kept, unless the
    /// change feed shows a write to the catalog since it was built (see
    /// `snapshots`), else one scan.
    async fn snapshot<R: Catalog>(&self) -> Result<Arc<Snapshot<R>>> {
        // Read before the scan: a write that lands during the scan has a
        // later revision, so the feed will show it to the next read.
        let revision = self.backend.revision().await?;
        if let Some((built_at, snapshot)) = self.snapshots.latest::<R>() {
            if built_at >= revision {
                return Ok(snapshot);
            }
            if let Some(commits) = self.backend.changes(built_at).await? {
                let reached = commits.last().map_or(built_at, |commit| commit.revision);
                if reached >= revision && !commits.iter().any(|commit| commit.touches(R::SPACE)) {
                    self.snapshots.keep(reached, snapshot.clone());
                    return Ok(snapshot);
                }
            }
        }
        let records = self
            .backend
            .scan(R::SPACE, &KeyRange::all(), Direction::Ascending, usize::MAX)
            .await?
            .iter()
            .map(|(_, value)| R::decode(value))
            .collect::<Result<Vec<R>>>()?;
        let snapshot = Arc::new(Snapshot::new(records));
        self.snapshots.keep(revision, snapshot.clone());
        Ok(snapshot)
    }

    /// Writes a record (new or changed) under its code.
    pub async fn put<R: Catalog>(&self, record: &R) -> Result<()> {
        let value = record.encode()?;
        transact!(self, |txn| {
            txn.put(R::SPACE, R::key(&record.code()), value.clone());
        })?;
        Ok(())
    }

    /// For each spelling, the province a client names by it: `CN-GD`, `GD`,
    /// or its English or Chinese name (any case). Unknown spellings are left
    /// out. One call for any number of spellings.
    pub async fn find_provinces(&self, spellings: &[String]) -> Result<HashMap<String, Province>> {
        self.count_call();
        let provinces = self.snapshot::<Province>().await?;
        Ok(spellings
            .iter()
            .filter_map(|spelling| {
                spelled(&provinces, spelling).map(|province| (spelling.clone(), province.clone()))
            })
            .collect())
    }

    /// The province a client names by `spelling` (see [`Store::find_provinces`]).
    pub async fn find_province(&self, spelling: &str) -> Result<Option<Province>> {
        Ok(self
            .find_provinces(&[spelling.to_owned()])
            .await?
            .remove(spelling))
    }

    /// Provinces in the order asked for. By total trade, the figures of the
    /// report year decide and provinces with no figure come last either way.
    pub async fn province_page(
        &self,
        field: ProvinceOrderField,
        direction: Direction,
        request: &PageRequest,
    ) -> Result<Counted<Province>> {
        let provinces = self.all::<Province>().await?;
        let descending = direction == Direction::Descending;
        let (tag, keyed) = match field {
            ProvinceOrderField::Name => (
                tag::PROVINCES_BY_NAME,
                keyed(provinces, |p| {
                    let mut key = Vec::new();
                    push_text(&mut key, &p.name.to_lowercase());
                    key
                }),
            ),
            ProvinceOrderField::TotalTrade => (
                if descending {
                    tag::PROVINCES_BY_TRADE_DESC
                } else {
                    tag::PROVINCES_BY_TRADE_ASC
                },
                keyed(provinces, |p| {
                    let amount = p
                        .year(REPORT_YEAR)
                        .and_then(|y| y.total_trade.as_ref())
                        .map(|m| m.amount);
                    // Put "no figure" at the end of the list in either direction.
                    let mut key = vec![u8::from(amount.is_some() == descending)];
                    key.extend(decimal_key(amount));
                    key
                }),
            ),
        };
        page_in_memory(tag, direction, keyed, request).await
    }

    /// Trade partners, optionally of one kind, by code.
    pub async fn partner_page(
        &self,
        kind: Option<PartnerKind>,
        request: &PageRequest,
    ) -> Result<Counted<TradePartner>> {
        let partners = self.all::<TradePartner>().await?;
        let chosen = partners
            .into_iter()
            .filter(|p| kind.is_none_or(|kind| p.kind == kind));
        page_in_memory(
            tag::PARTNERS,
            Direction::Ascending,
            keyed(chosen, by_code),
            request,
        )
        .await
    }

    /// Hubs, optionally of one kind, by code.
    pub async fn hub_page(
        &self,
        kind: Option<HubKind>,
        request: &PageRequest,
    ) -> Result<Counted<Hub>> {
        let hubs = self.all::<Hub>().await?;
        let chosen = hubs
            .into_iter()
            .filter(|h| kind.is_none_or(|kind| h.kind == kind));
        page_in_memory(
            tag::HUBS,
            Direction::Ascending,
            keyed(chosen, by_code),
            request,
        )
        .await
    }

    /// Companies by code.
    pub async fn company_page(&self, request: &PageRequest) -> Result<Counted<Company>> {
        let companies = self.all::<Company>().await?;
        page_in_memory(
            tag::COMPANIES,
            Direction::Ascending,
            keyed(companies, by_code),
            request,
        )
        .await
    }

    /// Several pages of freight routes in one call.
    pub async fn route_pages(&self, queries: &[RouteQuery]) -> Result<Vec<Counted<FreightRoute>>> {
        self.count_call();
        let routes = &self.snapshot::<FreightRoute>().await?.records;
        let mut pages = Vec::with_capacity(queries.len());
        for query in queries {
            let chosen = routes.iter().filter(|route| {
                query
                    .province
                    .as_ref()
                    .is_none_or(|p| route.provinces.contains(p))
                    && query
                        .partner
                        .as_ref()
                        .is_none_or(|p| route.partners.contains(p))
                    && query.mode.is_none_or(|mode| route.mode == mode)
            });
            let page = page_in_memory(
                tag::ROUTES,
                Direction::Ascending,
                keyed(chosen.cloned(), by_code),
                &query.request,
            )
            .await?;
            pages.push(page);
        }
        Ok(pages)
    }

    /// For each province, the hubs in it, by code.
    pub async fn hubs_in_provinces(
        &self,
        provinces: &[ProvinceCode],
    ) -> Result<HashMap<ProvinceCode, Vec<Hub>>> {
        self.count_call();
        let hubs = self.snapshot::<Hub>().await?;
        Ok(group(provinces, &hubs.records, |hub| hub.province.as_ref()))
    }

    /// For each partner, the hubs in it, by code.
    pub async fn hubs_in_partners(
        &self,
        partners: &[PartnerCode],
    ) -> Result<HashMap<PartnerCode, Vec<Hub>>> {
        self.count_call();
        let hubs = self.snapshot::<Hub>().await?;
        Ok(group(partners, &hubs.records, |hub| hub.country.as_ref()))
    }

    /// For each partner, the partners it is a member of, by code.
    pub async fn memberships(
        &self,
        partners: &[PartnerCode],
    ) -> Result<HashMap<PartnerCode, Vec<TradePartner>>> {
        self.count_call();
        let all = &self.snapshot::<TradePartner>().await?.records;
        Ok(partners
            .iter()
            .map(|code| {
                let groups = all
                    .iter()
                    .filter(|p| p.members.contains(code))
                    .cloned()
                    .collect();
                (code.clone(), groups)
            })
            .collect())
    }
}

/// The province `spelling` names: by code first, then by name.
fn spelled<'a>(provinces: &'a Snapshot<Province>, spelling: &str) -> Option<&'a Province> {
    let by_code = ProvinceCode::parse(spelling)
        .ok()
        .and_then(|code| provinces.get(&code));
    by_code.or_else(|| {
        let wanted = spelling.trim().to_lowercase();
        provinces.records.iter().find(|province| {
            province.name.to_lowercase() == wanted || province.name_zh == spelling.trim()
        })
    })
}

/// For each code, the records whose owner it is.
fn group<C: Clone + Eq + Hash, R: Clone>(
    codes: &[C],
    records: &[R],
    owner: impl Fn(&R) -> Option<&C>,
) -> HashMap<C, Vec<R>> {
    codes
        .iter()
        .map(|code| {
            let owned = records
                .iter()
                .filter(|r| owner(r) == Some(code))
                .cloned()
                .collect();
            (code.clone(), owned)
        })
        .collect()
}

/// The sort key of a record listed by code alone ([`keyed`] appends the code).
fn by_code<R>(_: &R) -> Vec<u8> {
    Vec::new()
}

/// Pairs each record with its sort key; the code is appended to break ties.
fn keyed<R: Catalog>(
    records: impl IntoIterator<Item = R>,
    sort_key: impl Fn(&R) -> Vec<u8>,
) -> BTreeMap<Vec<u8>, R> {
    records
        .into_iter()
        .map(|record| {
            let mut key = sort_key(&record);
            key.extend(R::key(&record.code()));
            (key, record)
        })
        .collect()
}

/// Pages through records sorted in memory.
async fn page_in_memory<R: Clone>(
    tag: u8,
    direction: Direction,
    sorted: BTreeMap<Vec<u8>, R>,
    request: &PageRequest,
) -> Result<Counted<R>> {
    let listing = Listing::new(tag, Vec::new(), direction);
    let page = paginate(&listing, request, |range, direction, n| {
        take_sorted(&sorted, range, direction, n)
    })
    .await?;
    Ok((page, sorted.len() as u64))
}

/// A record a search found.
#[derive(Debug, Clone)]
pub enum SearchHit {
    /// A province.
    Province(Province),
    /// A trade partner.
    TradePartner(TradePartner),
    /// A hub.
    Hub(Hub),
    /// A company.
    Company(Company),
    /// A freight route.
    FreightRoute(FreightRoute),
}

impl Store {
    /// The catalog records whose codes or names match `text`, best first
    /// (see [`crate::domain::rank`]), at most `limit`.
    pub async fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>> {
        self.count_call();
        let mut hits: Vec<(MatchRank, String, SearchHit)> = Vec::new();
        let mut consider = |code: &str, names: &[&str], hit: SearchHit| {
            if let Some(rank) = rank(text, code, names) {
                hits.push((rank, names[0].to_lowercase(), hit));
            }
        };
        for p in &self.snapshot::<Province>().await?.records {
            consider(
                p.code.as_str(),
                &[&p.name, &p.name_zh],
                SearchHit::Province(p.clone()),
            );
        }
        for p in &self.snapshot::<TradePartner>().await?.records {
            consider(
                p.code.as_str(),
                &[&p.name],
                SearchHit::TradePartner(p.clone()),
            );
        }
        for h in &self.snapshot::<Hub>().await?.records {
            consider(h.code.as_str(), &[&h.name], SearchHit::Hub(h.clone()));
        }
        for c in &self.snapshot::<Company>().await?.records {
            consider(c.code.as_str(), &[&c.name], SearchHit::Company(c.clone()));
        }
        for r in &self.snapshot::<FreightRoute>().await?.records {
            consider(
                r.code.as_str(),
                &[&r.name],
                SearchHit::FreightRoute(r.clone()),
            );
        }
        hits.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(hits
            .into_iter()
            .take(limit)
            .map(|(_, _, hit)| hit)
            .collect())
    }
}

impl Store {
    /// Checks that every record of a catalog decodes and is stored under
    /// the key of its own code (see [`Store::check`]).
    pub(super) async fn check_catalog<R: Catalog>(
        &self,
        report: &mut super::check::CheckReport,
    ) -> Result<()> {
        use super::check::{reason, show_key};
        let name = R::SPACE.name();
        let entries = self
            .backend
            .scan(R::SPACE, &KeyRange::all(), Direction::Ascending, usize::MAX)
            .await?;
        for (key, bytes) in entries {
            report.records += 1;
            match R::decode(&bytes) {
                Err(error) => {
                    report.found(format!("{name}: {}: {}", show_key(&key), reason(error)))
                }
                Ok(record) => {
                    let code = record.code();
                    if R::key(&code) != key {
                        report.found(format!(
                            "{name}: the record under {} has the code {code}",
                            show_key(&key)
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Store {
    /// Writes a record whose code must be new. Two writers racing for one
    /// code cannot both succeed: the write is a compare-and-swap.
    pub async fn insert_new<R: Catalog>(&self, record: &R) -> Result<()> {
        let code = record.code();
        let (key, value) = (R::key(&code), record.encode()?);
        transact!(self, |txn| {
            if txn.get(R::SPACE, &key).await?.is_some() {
                return Err(Error::bad_input(format!(
                    "code: a {} with code {code} already exists; codes are unique",
                    R::KIND
                )));
            }
            txn.put(R::SPACE, key.clone(), value.clone());
        })?;
        Ok(())
    }
}
