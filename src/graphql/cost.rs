//! What a request costs, measured before it runs. The one place of the
//! rules, which the README's "Limits" section states:
//!
//! - Every field costs 1.
//! - What a list selects is multiplied by how many items the list can
//!   return, read from the field's type in the schema: a connection (an
//!   object type with `pageInfo`) by its `first`/`last` (default 20), its
//!   `edges` and `nodes` counted once inside it; a list with a list
//!   argument (`nodes(ids:)`) by that argument's length; a list with a
//!   `first` argument (`search`) by it or its default; a list of catalog
//!   records (`Province.hubs`) by how many such records the catalog holds;
//!   a list of values inside a record (`indicators`) by 1.
//! - A shipment list or count whose filter reads records it may turn away
//!   (more than one condition, counting the one its parent object adds, or
//!   a date range in quantity order), or a count of one condition and a
//!   date range, costs what it may read: the size of the narrowest index it
//!   would scan, from the counters (per block of 64 entries when it counts
//!   index entries alone), times the lists around it. Together these are
//!   at most the request's scan limit, since the store stops there.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, Selection, SelectionSet, Type, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{InputType, Name, Value, Variables};

use super::types::ShipmentFilterInput;
use crate::domain::{self, ShipmentOrderField, DEFAULT_PAGE_SIZE};
use crate::store::Store;

/// The shape of every field in the schema, as cost needs it.
pub(super) struct CostModel {
    /// Each type's fields, to what each returns.
    fields: HashMap<String, HashMap<String, FieldShape>>,
    /// The Relay connection types.
    connections: HashSet<String>,
    /// The root type of each operation kind.
    query: String,
    mutation: String,
    subscription: String,
}

/// What a field returns.
#[derive(Debug, Clone)]
struct FieldShape {
    /// The named type, lists unwrapped.
    type_name: String,
    /// Whether it is a list.
    list: bool,
    /// Whether the named type is a Relay connection.
    connection: bool,
    /// The argument whose value is a list, if any (`nodes(ids:)`).
    list_argument: Option<String>,
    /// The default of a `first` argument, if the field has one.
    first_default: Option<u64>,
}

/// The connection type whose lists the store scans with filters.
const SHIPMENT_CONNECTION: &str = "ShipmentConnection";

impl CostModel {
    /// The model of a schema, from its SDL.
    pub(super) fn of_sdl(sdl: &str) -> Self {
        let mut model = Self {
            fields: HashMap::new(),
            connections: HashSet::new(),
            query: "Query".into(),
            mutation: "Mutation".into(),
            subscription: "Subscription".into(),
        };
        // The SDL is the schema's own, so this does not fail; if it did,
        // every field would cost 1 and the tests of cost would say so.
        let document = match async_graphql::parser::parse_schema(sdl) {
            Ok(document) => document,
            Err(error) => {
                tracing::error!(%error, "the schema's SDL does not parse: costs are fields alone");
                return model;
            }
        };
        let mut fields = Vec::new();
        for definition in &document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = &schema.node;
                    let name = |root: &Option<async_graphql::Positioned<Name>>| {
                        root.as_ref().map(|name| name.node.to_string())
                    };
                    model.query = name(&schema.query).unwrap_or(model.query);
                    model.mutation = name(&schema.mutation).unwrap_or(model.mutation);
                    model.subscription = name(&schema.subscription).unwrap_or(model.subscription);
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = &definition.node;
                    let defined = match &definition.kind {
                        TypeKind::Object(object) => &object.fields,
                        TypeKind::Interface(interface) => &interface.fields,
                        _ => continue,
                    };
                    let parent = definition.name.node.to_string();
                    if defined
                        .iter()
                        .any(|field| field.node.name.node == "pageInfo")
                    {
                        model.connections.insert(parent.clone());
                    }
                    for field in defined {
                        fields.push((parent.clone(), field.node.clone()));
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        for (parent, field) in fields {
            let (type_name, list) = unwrap(&field.ty.node);
            let list_argument = field
                .arguments
                .iter()
                .find(|argument| unwrap(&argument.node.ty.node).1)
                .map(|argument| argument.node.name.node.to_string());
            let first_default = field
                .arguments
                .iter()
                .find(|argument| argument.node.name.node == "first")
                .and_then(|argument| argument.node.default_value.as_ref())
                .and_then(|value| match &value.node {
                    Value::Number(number) => number.as_u64(),
                    _ => None,
                });
            let shape = FieldShape {
                connection: model.connections.contains(&type_name),
                type_name,
                list,
                list_argument,
                first_default,
            };
            model
                .fields
                .entry(parent)
                .or_default()
                .insert(field.name.node.to_string(), shape);
        }
        model
    }

    fn field(&self, parent: &str, name: &str) -> Option<&FieldShape> {
        self.fields.get(parent)?.get(name)
    }
}

/// A type's name with lists unwrapped, and whether it was a list.
fn unwrap(ty: &Type) -> (String, bool) {
    match &ty.base {
        BaseType::Named(name) => (name.to_string(), false),
        BaseType::List(inner) => (unwrap(inner).0, true),
    }
}

/// How many records each catalog holds, for the lists of them: by GraphQL
/// type name, looked up in a few comparisons (it is read for every request).
#[derive(Debug, Default, Clone)]
pub(super) struct CatalogSizes([(&'static str, u64); 5]);

impl CatalogSizes {
    /// The sizes now.
    async fn of(store: &Store) -> crate::error::Result<Self> {
        Ok(Self([
            ("Province", store.catalog_size::<domain::Province>().await?),
            (
                "TradePartner",
                store.catalog_size::<domain::TradePartner>().await?,
            ),
            ("Hub", store.catalog_size::<domain::Hub>().await?),
            ("Company", store.catalog_size::<domain::Company>().await?),
            (
                "FreightRoute",
                store.catalog_size::<domain::FreightRoute>().await?,
            ),
        ]))
    }

    /// The sizes at the store's current revision: those read last, unless
    /// a commit came since.
    pub(super) async fn current(
        store: &Store,
        last: &Mutex<Option<(u64, CatalogSizes)>>,
    ) -> crate::error::Result<Self> {
        // Read before the sizes: a write during the read has a later
        // revision, so the next request reads them again.
        let revision = store.revision().await?;
        let lock = || last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((at, sizes)) = lock().as_ref() {
            if *at == revision {
                return Ok(sizes.clone());
            }
        }
        let sizes = Self::of(store).await?;
        *lock() = Some((revision, sizes.clone()));
        Ok(sizes)
    }

    /// The size of the catalog of records of GraphQL type `type_name`.
    fn of_type(&self, type_name: &str) -> Option<u64> {
        self.0
            .iter()
            .find(|(name, _)| *name == type_name)
            .map(|(_, size)| *size)
    }
}

/// What a document asks for, before its scans are priced.
#[derive(Debug, Default)]
pub(super) struct Measure {
    /// The deepest nesting of fields.
    pub depth: usize,
    /// The cost of the fields (see the module docs), scans left out.
    pub fields: u64,
    /// The shipment lists and counts that may scan, each to be priced by
    /// the store.
    pub scans: Vec<ScanTerm>,
}

/// One shipment list or count in a document.
#[derive(Debug)]
pub(super) struct ScanTerm {
    /// The `filter` argument as written, variables replaced.
    filter: Option<Value>,
    /// Whether the list belongs to an object, whose condition it adds.
    nested: bool,
    /// The order of a page; `None` for `totalCount`.
    order: Option<ShipmentOrderField>,
    /// How many times it runs: the product of the lists around it.
    times: u64,
}

impl Measure {
    /// The cost of the scans, priced from the store's counters and capped
    /// at `max_scan`, what a request may read.
    pub(super) async fn scan_cost(&self, store: &Store, max_scan: u64) -> u64 {
        let mut total: u64 = 0;
        for term in &self.scans {
            let Some(filter) = filter_of(term, store).await else {
                continue;
            };
            // A store that cannot say leaves the term to its limit.
            let size = store
                .shipment_scan_estimate(&filter, term.nested, term.order)
                .await
                .unwrap_or(max_scan);
            total = total.saturating_add(size.saturating_mul(term.times));
            if total >= max_scan {
                return max_scan;
            }
        }
        total
    }
}

/// The domain filter of a term that may read past what it returns, a
/// province by name looked up; `None` when its page size or a counter
/// bounds it, or when the value is not a filter (the request then fails
/// before it scans anything).
async fn filter_of(term: &ScanTerm, store: &Store) -> Option<domain::ShipmentFilter> {
    let value = term.filter.clone().filter(|value| *value != Value::Null);
    let input = match value {
        Some(value) => ShipmentFilterInput::parse(Some(value)).ok()?,
        None => ShipmentFilterInput::default(),
    };
    if Store::shipment_scan_is_bounded(&input.conditions().ok()?, term.nested, term.order) {
        return None;
    }
    input.resolve_with(store).await.ok()
}

/// Measures every operation of a document against the model; fragments are
/// expanded where they are spread (a cycle, which validation refuses,
/// counts once).
pub(super) fn measure(
    model: &CostModel,
    sizes: &CatalogSizes,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Measure {
    let mut walker = Walker {
        model,
        sizes,
        document,
        variables,
        visiting: Vec::new(),
        scans: Vec::new(),
    };
    let mut measure = Measure::default();
    for (_, operation) in document.operations.iter() {
        use async_graphql::parser::types::OperationType;
        let root = match operation.node.ty {
            OperationType::Query => &model.query,
            OperationType::Mutation => &model.mutation,
            OperationType::Subscription => &model.subscription,
        };
        let (depth, cost) = walker.selection_set(&operation.node.selection_set.node, root, 1, 1);
        measure.depth = measure.depth.max(depth);
        measure.fields = measure.fields.saturating_add(cost);
    }
    measure.scans = walker.scans;
    measure
}

/// Walks selections with the type each is selected on.
struct Walker<'a> {
    model: &'a CostModel,
    sizes: &'a CatalogSizes,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The fragments being expanded, against cycles.
    visiting: Vec<&'a str>,
    scans: Vec<ScanTerm>,
}

impl<'a> Walker<'a> {
    /// The depth and cost of a selection set on `parent`; `items` is how
    /// many items a list directly inside it holds when `parent` is a
    /// connection, and `times` how often the set is resolved.
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        parent: &str,
        items: u64,
        times: u64,
    ) -> (usize, u64) {
        let mut depth = 0;
        let mut cost: u64 = 0;
        for selection in &set.items {
            let (d, c) = match &selection.node {
                Selection::Field(field) => self.field(&field.node, parent, items, times),
                Selection::InlineFragment(fragment) => {
                    let on = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(parent.to_owned(), |on| on.node.on.node.to_string());
                    self.selection_set(&fragment.node.selection_set.node, &on, items, times)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.document.fragments.get(name) {
                        Some(fragment) if !self.visiting.contains(&name) => {
                            self.visiting.push(name);
                            let on = fragment.node.type_condition.node.on.node.to_string();
                            let measured = self.selection_set(
                                &fragment.node.selection_set.node,
                                &on,
                                items,
                                times,
                            );
                            self.visiting.pop();
                            measured
                        }
                        _ => (0, 0),
                    }
                }
            };
            depth = depth.max(d);
            cost = cost.saturating_add(c);
        }
        (depth, cost)
    }

    fn field(&mut self, field: &'a Field, parent: &str, items: u64, times: u64) -> (usize, u64) {
        let model = self.model;
        let Some(shape) = model.field(parent, field.name.node.as_str()) else {
            // `__typename` and introspection: a field of unknown shape.
            let (depth, cost) = self.selection_set(&field.selection_set.node, "", 1, times);
            return (depth + 1, cost.saturating_add(1));
        };
        let parent_is_connection = self.model.connections.contains(parent);
        let (multiplier, inner_items) = if shape.connection {
            (1, self.page_size(field))
        } else if shape.list {
            (self.list_size(field, shape, parent_is_connection, items), 1)
        } else {
            (1, 1)
        };
        let inner_times = times.saturating_mul(multiplier);
        if shape.type_name == SHIPMENT_CONNECTION {
            self.add_scans(field, parent, inner_times);
        }
        let (depth, cost) = self.selection_set(
            &field.selection_set.node,
            &shape.type_name,
            inner_items,
            inner_times,
        );
        (depth + 1, cost.saturating_mul(multiplier).saturating_add(1))
    }

    /// A connection's page size: `first`, else `last`, else the default.
    fn page_size(&self, field: &Field) -> u64 {
        self.number(field, "first")
            .or_else(|| self.number(field, "last"))
            .unwrap_or(DEFAULT_PAGE_SIZE as u64)
    }

    /// How many items a plain list field can return.
    fn list_size(&self, field: &Field, shape: &FieldShape, in_connection: bool, items: u64) -> u64 {
        if in_connection {
            return items;
        }
        if let Some(name) = &shape.list_argument {
            return match self.argument(field, name) {
                Some(Value::List(values)) => values.len() as u64,
                _ => 1,
            };
        }
        if let Some(default) = shape.first_default {
            return self.number(field, "first").unwrap_or(default);
        }
        self.sizes.of_type(&shape.type_name).unwrap_or(1)
    }

    /// Notes the page of a shipment connection, and its count when
    /// `totalCount` is selected.
    fn add_scans(&mut self, field: &Field, parent: &str, times: u64) {
        let filter = self.argument(field, "filter");
        let order = match self.argument(field, "orderBy") {
            Some(Value::Object(order)) => match order.get("field") {
                Some(Value::Enum(name)) if name.as_str() == "QUANTITY" => {
                    ShipmentOrderField::Quantity
                }
                _ => ShipmentOrderField::DepartedOn,
            },
            _ => ShipmentOrderField::DepartedOn,
        };
        let nested = parent != self.model.query;
        let counted = selects(&field.selection_set.node, "totalCount", self.document);
        // The resolver reads the page whatever is selected, which is also
        // where a cursor that is not the list's own is refused.
        self.scans.push(ScanTerm {
            filter: filter.clone(),
            nested,
            order: Some(order),
            times,
        });
        if counted {
            self.scans.push(ScanTerm {
                filter,
                nested,
                order: None,
                times,
            });
        }
    }

    fn number(&self, field: &Field, name: &str) -> Option<u64> {
        match self.argument(field, name) {
            Some(Value::Number(number)) => number.as_u64(),
            _ => None,
        }
    }

    /// An argument's value, with variables replaced by their values.
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        field
            .get_argument(name)?
            .node
            .clone()
            .into_const_with(|variable| self.variables.get(&variable).cloned().ok_or(()))
            .ok()
    }
}

/// Whether a selection set selects a field of this name, directly or
/// through fragments.
fn selects(set: &SelectionSet, name: &str, document: &ExecutableDocument) -> bool {
    fn within(set: &SelectionSet, name: &str, document: &ExecutableDocument, depth: u8) -> bool {
        set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => field.node.name.node == name,
            Selection::InlineFragment(fragment) => {
                within(&fragment.node.selection_set.node, name, document, depth)
            }
            // Bounded against cycles, which validation refuses anyway.
            Selection::FragmentSpread(spread) if depth < 16 => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .is_some_and(|fragment| {
                    within(&fragment.node.selection_set.node, name, document, depth + 1)
                }),
            Selection::FragmentSpread(_) => false,
        })
    }
    within(set, name, document, 0)
}
