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
/** ShipmentFanOut with first: 4 (largest first; no quantity sorts last descending). */
export const EXPECTED_FAN_OUT = {
  shipments: {
    __typename: 'ShipmentConnection',
    totalCount: 4,
    nodes: [
      {
        __typename: 'Shipment',
        id: 'U2hpcG1lbnQ6MQ==',
        reference: 'BYD-CHANGZHOU-ZARATE',
        cargo: 'new energy vehicles',
        quantity: {
          __typename: 'Quantity',
          value: '5800',
          unit: 'new energy vehicles',
          qualifier: 'MORE_THAN',
          display: 'over 5,800 new energy vehicles',
        },
        shipper: {
          __typename: 'Company',
          id: 'Q29tcGFueTpCWUQ=',
          code: 'BYD',
          name: 'BYD',
        },
        originProvince: null,
        origin: null,
        destination: {
          __typename: 'Hub',
          id: 'SHViOlBPUlQtWkFSQVRF',
          code: 'PORT-ZARATE',
          name: 'Port of Zarate',
          country: {
            __typename: 'TradePartner',
            id: 'VHJhZGVQYXJ0bmVyOkFS',
            code: 'AR',
            name: 'Argentina',
          },
        },
        route: null,
      },
      {
        __typename: 'Shipment',
        id: 'U2hpcG1lbnQ6Mw==',
        reference: 'CER-2026-FIRST-GBA-MALASZEWICZE',
        cargo: "mixed goods, among them TCL's semiconductor display panels and key components",
        quantity: {
          __typename: 'Quantity',
          value: '110',
          unit: 'standard containers',
          qualifier: 'EXACT',
          display: '110 standard containers',
        },
        shipper: null,
        originProvince: null,
        origin: {
          __typename: 'Hub',
          id: 'SHViOkdCQQ==',
          code: 'GBA',
          name: 'Guangdong-Hong Kong-Macao Greater Bay Area',
          province: null,
        },
        destination: {
          __typename: 'Hub',
          id: 'SHViOk1BTEFTWkVXSUNaRQ==',
          code: 'MALASZEWICZE',
          name: 'Malaszewicze',
          country: {
            __typename: 'TradePartner',
            id: 'VHJhZGVQYXJ0bmVyOlBM',
            code: 'PL',
            name: 'Poland',
          },
        },
        route: {
          __typename: 'FreightRoute',
          id: 'RnJlaWdodFJvdXRlOkNFUi1HQkEtTUFMQVNaRVdJQ1pF',
          code: 'CER-GBA-MALASZEWICZE',
          name: 'China-Europe freight train service from the Greater Bay Area to Malaszewicze',
          provinces: [
            {
              __typename: 'Province',
              id: IDS.guangdong,
              code: 'CN-GD',
              name: 'Guangdong',
            },
          ],
        },
      },
      {
        __typename: 'Shipment',
        id: 'U2hpcG1lbnQ6Mg==',
        reference: 'ENVISION-JIANGYIN-BLADES',
        cargo: 'wind turbine blades',
        quantity: {
          __typename: 'Quantity',
          value: '36',
          unit: 'wind turbine blades',
          qualifier: 'EXACT',
          display: '36 wind turbine blades',
        },
        shipper: {
          __typename: 'Company',
          id: 'Q29tcGFueTpFTlZJU0lPTg==',
          code: 'ENVISION',
          name: 'Envision',
        },
        originProvince: {
          __typename: 'Province',
          id: IDS.jiangsu,
          code: 'CN-JS',
          name: 'Jiangsu',
        },
        origin: {
          __typename: 'Hub',
          id: 'SHViOkpJQU5HWUlOLUNCWg==',
          code: 'JIANGYIN-CBZ',
          name: 'Jiangyin Comprehensive Bonded Zone',
          province: {
            __typename: 'Province',
            id: IDS.jiangsu,
            code: 'CN-JS',
            name: 'Jiangsu',
          },
        },
        destination: null,
        route: null,
      },
      {
        __typename: 'Shipment',
        id: 'U2hpcG1lbnQ6NA==',
        reference: 'LIANYUNGANG-WIND-TURBINES',
        cargo: 'wind turbines',
        quantity: null,
        shipper: null,
        originProvince: {
          __typename: 'Province',
          id: IDS.jiangsu,
          code: 'CN-JS',
          name: 'Jiangsu',
        },
        origin: {
          __typename: 'Hub',
          id: 'SHViOlBPUlQtTElBTllVTkdBTkc=',
          code: 'PORT-LIANYUNGANG',
          name: 'Lianyungang terminal',
          province: {
            __typename: 'Province',
            id: IDS.jiangsu,
            code: 'CN-JS',
            name: 'Jiangsu',
          },
        },
        destination: null,
        route: null,
      },
    ],
  },
};
