// Starts GraphiQL against the server that served this page: queries and
// mutations go to /graphql over HTTP, subscriptions to the same path over
// WebSocket (graphql-transport-ws). It opens with an example query and the
// docs explorer. React, ReactDOM and GraphiQL are the globals that the
// scripts loaded before this one define.
'use strict';

const EXAMPLE_QUERY = `# Welcome to tradegraph: China's foreign
# trade as a graph.
#
# Run this query with Ctrl-Enter or the
# run button. The Docs panel describes
# every type and field; Ctrl-Space
# completes names. Mutations need a write
# token in Headers below:
# {"Authorization": "Bearer <token>"}

{
  province(code: "guangdong") {
    code
    name
    nameZh
    nationalRank
    totalTrade {
      amount
      qualifier
      display
      source { quote }
    }
  }
  nationalSummary {
    year
    totalTrade { display }
    growthPercent
  }
}
`;

const endpoint = new URL('/graphql', window.location.href);
const subscriptions = new URL(endpoint);
subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

// tradegraph answers JSON, not incremental (multipart) responses.
const fetcher = GraphiQL.createFetcher({
  url: endpoint.href,
  subscriptionUrl: subscriptions.href,
  enableIncrementalDelivery: false,
});

ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: EXAMPLE_QUERY,
    visiblePlugin: 'Documentation Explorer',
  }),
);
