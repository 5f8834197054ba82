// Drawing the answers: the provinces' bar chart (SVG), the leading regions'
// share, the routes with their shipments and the feed's entries. Figures
// are shown by the API's `display` text, which carries the qualifier
// ("over 5,800"), and each has its source sentence as a tooltip (`title`).
// A null figure is drawn as unknown, never as zero. Text goes in through
// `textContent` only, so nothing from the API is ever read as markup.

const SVG = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes and children (strings become text). */
export function html(tag, attributes = {}, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** An SVG element, likewise. */
function svg(tag, attributes = {}, ...children) {
  return build(document.createElementNS(SVG, tag), attributes, children);
}

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/** A figure's text with its source sentence as a tooltip, or "unknown". */
function figure(value) {
  if (value == null) return html('span', { class: 'figure unknown', title: 'The report states no figure' }, 'unknown');
  return html('span', { class: 'figure', title: value.source?.quote }, value.display);
}

/** Replaces a section's content below its heading. */
function fill(section, ...content) {
  section.querySelectorAll(':scope > :not(h2)').forEach((node) => node.remove());
  section.append(...content);
}

/** Shows an error in a section (the page-wide alert is the caller's). */
export function drawError(section, error) {
  fill(section, html('p', { class: 'error' }, `Could not load this view: ${error.message}`));
}

const BAR_HEIGHT = 36;
const LABEL_WIDTH = 150;
const CHART_WIDTH = 640;

/**
 * The provinces ranked by 2025 trade: a bar for each stated total, scaled
 * to the largest, then the provinces the report gives no total for, then
 * the other figures it states about each province.
 */
export function drawProvinces(section, provinces) {
  const stated = provinces.filter((province) => province.totalTrade != null);
  const unstated = provinces
    .filter((province) => province.totalTrade == null)
    .map((province) => province.name)
    .sort((a, b) => a.localeCompare(b));
  const largest = Math.max(...stated.map((province) => Number(province.totalTrade.amount)), 1);
  const room = CHART_WIDTH - LABEL_WIDTH - 170;

  const chart = svg('svg', {
    class: 'bars',
    viewBox: `0 0 ${CHART_WIDTH} ${stated.length * BAR_HEIGHT + 8}`,
    role: 'img',
    'aria-label': 'Provinces by 2025 foreign trade',
  });
  stated.forEach((province, index) => {
    const trade = province.totalTrade;
    const y = index * BAR_HEIGHT + 4;
    const width = Math.max((Number(trade.amount) / largest) * room, 2);
    const label = `${province.name}: ${trade.display}`;
    chart.append(
      svg(
        'g',
        { class: 'bar', 'data-code': province.code },
        svg('title', {}, `${label}. ${trade.source?.quote ?? ''}`.trim()),
        svg('text', { x: LABEL_WIDTH - 8, y: y + BAR_HEIGHT / 2, class: 'name' }, `${province.name} ${province.nameZh}`),
        svg('rect', { x: LABEL_WIDTH, y: y + 4, width: width.toFixed(1), height: BAR_HEIGHT - 10, rx: 3, 'aria-label': label }),
        svg('text', { x: LABEL_WIDTH + width + 8, y: y + BAR_HEIGHT / 2, class: 'value' }, trade.display),
      ),
    );
  });

  const others = provinces
    .filter((province) => province.indicators.length > 0)
    .map((province) =>
      html(
        'li',
        {},
        html('strong', {}, province.name),
        html('ul', {}, province.indicators.map((indicator) => html('li', { class: 'figure', title: indicator.source.quote }, indicator.display))),
      ),
    );

  fill(
    section,
    stated.length > 0 ? chart : html('p', {}, 'The report states no province totals.'),
    html(
      'p',
      { class: 'unstated' },
      html('strong', {}, `Total unknown for ${unstated.length} of ${provinces.length}: `),
      unstated.join(', '),
      unstated.length ? '. The report does not state their 2025 totals.' : '',
    ),
    others.length ? html('h3', {}, 'Other figures the report gives') : null,
    others.length ? html('ul', { class: 'indicators' }, others) : null,
  );
}

/** How a computed value inherits its inputs' qualifiers. */
function qualified(text, ...qualifiers) {
  return qualifiers.every((qualifier) => qualifier === 'EXACT') ? text : `about ${text}`;
}

/**
 * The seven leading regions' combined trade against the national total:
 * both as the report states them, and the share between them, which the
 * page computes (the report states no percentage) and says so.
 */
export function drawNational(section, summary) {
  if (summary == null) {
    fill(section, html('p', { class: 'unknown' }, 'No national summary for 2025.'));
    return;
  }
  const leading = summary.indicators.find((indicator) => indicator.key === 'leading_seven_total_trade');
  const total = summary.totalTrade;
  if (leading?.money == null) {
    fill(section, html('p', {}, 'National total: ', figure(total)), html('p', { class: 'unknown' }, "The leading regions' total is unknown."));
    return;
  }
  const share = (Number(leading.money.amount) / Number(total.amount)) * 100;
  const shareText = qualified(`${share.toFixed(1)}%`, leading.money.qualifier, total.qualifier);
  const width = 600;
  const meter = svg(
    'svg',
    { class: 'share', viewBox: `0 0 ${width} 40`, role: 'img', 'aria-label': `${shareText} of the national total` },
    svg('title', {}, `${leading.money.display} of ${total.display}. ${leading.source.quote}`),
    svg('rect', { class: 'whole', x: 0, y: 4, width, height: 32, rx: 4 }),
    svg('rect', { class: 'part', x: 0, y: 4, width: ((share / 100) * width).toFixed(1), height: 32, rx: 4 }),
    svg('text', { x: 12, y: 25, class: 'value' }, shareText),
  );
  fill(
    section,
    meter,
    html(
      'dl',
      { class: 'figures' },
      html('dt', {}, leading.label),
      html('dd', {}, figure({ ...leading.money, source: leading.source })),
      html('dt', {}, `National total, ${summary.year}`),
      html('dd', {}, figure(total)),
    ),
    html(
      'p',
      { class: 'note' },
      'The share is computed here from the two figures; the report states no percentage.',
      leading.note ? ` It adds: ${leading.note}.` : '',
    ),
  );
}

/** The freight routes, each with its shipments. */
export function drawRoutes(section, connection) {
  const items = connection.nodes.map((route) => {
    const ends = [route.origin?.name ?? 'origin unknown', route.destination?.name ?? 'destination unknown'].join(' → ');
    const shipments = route.shipments.nodes.map((shipment) =>
      html(
        'li',
        { class: 'shipment', 'data-reference': shipment.reference },
        html('code', {}, shipment.reference),
        ' ',
        shipment.cargo,
        ': ',
        shipment.quantity ? figure(shipment.quantity.source ? shipment.quantity : { ...shipment.quantity, source: shipment.source }) : figure(null),
        shipment.synthetic ? html('span', { class: 'synthetic', title: 'Generated for load tests, not from the report' }, ' synthetic') : null,
      ),
    );
    const more = route.shipments.totalCount - shipments.length;
    return html(
      'li',
      { class: 'route', 'data-code': route.code },
      html('h3', { title: route.source?.quote }, route.name),
      html('p', { class: 'meta' }, `${route.mode.toLowerCase()} · ${ends}`, route.note ? ` · ${route.note}` : ''),
      shipments.length
        ? html('ul', { class: 'shipments' }, shipments, more > 0 ? html('li', { class: 'more' }, `and ${more} more`) : null)
        : html('p', { class: 'unknown' }, 'No shipments recorded on this route.'),
    );
  });
  fill(section, items.length ? html('ul', { class: 'routes' }, items) : html('p', {}, 'No freight routes.'));
}

/** One event of the live feed, newest first. */
export function feedEntry(event) {
  const shipment = event.shipment;
  const where = [shipment?.originProvince?.name, shipment?.destinationPartner?.name].filter(Boolean).join(' → ');
  return html(
    'li',
    { class: `event ${event.kind.toLowerCase()}`, 'data-reference': shipment?.reference },
    html('time', {}, new Date().toLocaleTimeString()),
    ' ',
    html('span', { class: 'kind' }, event.kind.toLowerCase()),
    ' ',
    html('code', {}, shipment?.reference ?? `#${event.sequence}`),
    shipment ? ` ${shipment.cargo}` : '',
    shipment?.quantity ? ' · ' : '',
    shipment?.quantity ? figure(shipment.quantity) : null,
    where ? ` · ${where}` : '',
  );
}
