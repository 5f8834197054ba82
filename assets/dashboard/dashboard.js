// The dashboard: one query per view, each drawn when its answer comes, and
// the live feed over the subscription. A failure of one view shows in that
// view and in the page's alert; the others still draw.
import { query, subscriptionUrl } from './graphql.js';
import { subscribe } from './subscription.js';
import { drawError, drawNational, drawProvinces, drawRoutes, feedEntry, html } from './views.js';

const SOURCED = 'source { quote }';
const MONEY = `amount display qualifier forecast ${SOURCED}`;

const PROVINCES = `query DashboardProvinces {
  provinces(orderBy: {field: TOTAL_TRADE, direction: DESC}, first: 50) {
    nodes {
      code name nameZh nationalRank
      totalTrade { ${MONEY} }
      indicators { key display ${SOURCED} }
    }
  }
}`;

const NATIONAL = `query DashboardNational {
  nationalSummary {
    year
    totalTrade { ${MONEY} }
    indicators { key label note money { ${MONEY} } ${SOURCED} }
  }
}`;

const ROUTES = `query DashboardRoutes {
  freightRoutes(first: 20) {
    nodes {
      code name mode note ${SOURCED}
      origin { name } destination { name }
      shipments(first: 10) {
        totalCount
        nodes { reference cargo synthetic quantity { display qualifier ${SOURCED} } ${SOURCED} }
      }
    }
  }
}`;

const FEED = `subscription DashboardFeed {
  shipmentEvents {
    kind sequence
    shipment {
      reference cargo
      quantity { display qualifier ${SOURCED} }
      originProvince { name } destinationPartner { name }
    }
  }
}`;

/** The most feed entries kept on the page. */
const FEED_LENGTH = 50;

const alerts = document.getElementById('alerts');

/** Adds a message to the page's alert region. */
function alert(message) {
  alerts.append(html('p', {}, message));
}

/** Runs one view's query and draws it, or shows why it could not. */
async function view(id, operation, draw) {
  const section = document.getElementById(id);
  try {
    draw(section, await query(operation));
  } catch (error) {
    const title = section.querySelector('h2').textContent;
    const code = error.code ? ` (${error.code})` : '';
    alert(`${title}: the API answered with an error${code}: ${error.message}`);
    drawError(section, error);
  }
}

view('provinces', PROVINCES, (section, data) => drawProvinces(section, data.provinces.nodes));
view('national', NATIONAL, (section, data) => drawNational(section, data.nationalSummary));
view('routes', ROUTES, (section, data) => drawRoutes(section, data.freightRoutes));

const events = document.getElementById('feed-events');
const status = document.getElementById('feed-status');
subscribe(subscriptionUrl(), FEED, {
  next(data) {
    events.prepend(feedEntry(data.shipmentEvents));
    while (events.children.length > FEED_LENGTH) events.lastElementChild.remove();
  },
  error(message) {
    alert(`Live shipment events: ${message}`);
  },
  status(text) {
    status.textContent = text;
  },
});
