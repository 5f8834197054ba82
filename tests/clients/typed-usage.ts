// Type-checked (`tsc --noEmit`) against the generated types, so the
// generated code is not only valid TypeScript but precise: each
// `@ts-expect-error` below fails the check if codegen ever degrades a type
// to `any` or loosens a nullability.
import type {
  CreateShipmentMutationVariables,
  ProvinceCardQuery,
  ShipmentEventsSubscription,
  ShipmentsPageQuery,
  ShipmentsPageQueryVariables,
} from './generated/operations.js';

export function headline(card: ProvinceCardQuery): string {
  const province = card.province;
  if (!province) return 'unknown province';
  // `totalTrade` is nullable in the schema: reading through it needs a check.
  // @ts-expect-error: totalTrade may be null
  province.totalTrade.display;
  const rank: number | null | undefined = province.nationalRank;
  return `${province.name} (${province.nameZh}): ${province.totalTrade?.display ?? 'not stated'}, rank ${rank ?? '-'}`;
}

export function references(page: ShipmentsPageQuery): string[] {
  return page.shipments.edges.map((edge) => edge.node.reference);
}

export const nextPage: ShipmentsPageQueryVariables = { first: 2, after: 'cursor' };

// @ts-expect-error: first is an Int
export const wrongPage: ShipmentsPageQueryVariables = { first: '2' };

export const newShipment: CreateShipmentMutationVariables = {
  input: { cargo: 'wind turbine blades', originProvince: 'Jiangsu', quantity: { value: '48', unit: 'blades' } },
  idempotencyKey: 'order-1',
};

// @ts-expect-error: cargo is required
export const noCargo: CreateShipmentMutationVariables = { input: { originProvince: 'Jiangsu' } };

export function kind(event: ShipmentEventsSubscription): 'CREATED' | 'UPDATED' | 'DELETED' {
  return event.shipmentEvents.kind;
}
