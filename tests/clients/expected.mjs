// What the seeded database answers, as the client tests expect it. Global
// ids are opaque to clients but stable for a seeded record, so they are
// asserted exactly too. Apollo Client adds `__typename` to every
// selection and returns it; urql adds it too but hides it again.

/** Global ids of the seeded records the tests meet. */
export const IDS = {
  guangdong: 'UHJvdmluY2U6Q04tR0Q=',
  jiangsu: 'UHJvdmluY2U6Q04tSlM=',
  portGuangzhou: 'SHViOlBPUlQtR1VBTkdaSE9V',
};

/** ProvinceCard for "guangdong". */
export const EXPECTED_GUANGDONG_CARD = {
  __typename: 'Province',
  id: IDS.guangdong,
  code: 'CN-GD',
  name: 'Guangdong',
  nameZh: '广东',
  nationalRank: 1,
  growthPercent: null,
  totalTrade: {
    __typename: 'Money',
    amount: '9490000000000',
    currency: 'CNY',
    qualifier: 'EXACT',
    display: '9.49 trillion yuan',
  },
  indicators: [
    {
      __typename: 'Indicator',
      key: 'high_tech_exports',
      label: 'High-tech product exports',
      display: 'High-tech product exports: 1.14 trillion yuan',
      hub: null,
    },
    {
      __typename: 'Indicator',
      key: 'years_ranked_first',
      label: 'Consecutive years ranked first nationwide in foreign trade',
      display: 'Consecutive years ranked first nationwide in foreign trade: 40 consecutive years',
      hub: null,
    },
  ],
  hubs: [
    {
      __typename: 'Hub',
      id: IDS.portGuangzhou,
      code: 'PORT-GUANGZHOU',
      name: 'Guangzhou Port',
      kind: 'SEAPORT',
      city: 'Guangzhou',
    },
  ],
};

/** The real shipments in the default order (departure date, then id). */
export const EXPECTED_SHIPMENT_ORDER = [
  'BYD-CHANGZHOU-ZARATE',
  'ENVISION-JIANGYIN-BLADES',
  'CER-2026-FIRST-GBA-MALASZEWICZE',
  'LIANYUNGANG-WIND-TURBINES',
];

/**
 * `value` without its `__typename` fields: urql adds them to the document
 * it sends, like Apollo Client, but leaves out of its results those the
 * operation did not ask for.
 */
export function withoutTypenames(value) {
  if (Array.isArray(value)) return value.map(withoutTypenames);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== '__typename')
      .map(([key, inner]) => [key, withoutTypenames(inner)]),
  );
}
