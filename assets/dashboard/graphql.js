// Queries over HTTP to the server that served the page. A request that
// fails, an answer that is not JSON, and an answer with `errors` all throw
// an ApiError whose message says what the API said, for the page to show.

/** What went wrong asking the API, in words a reader can act on. */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

const endpoint = new URL('/graphql', window.location.href);

/** Runs `query` and resolves to its `data`, or rejects with an ApiError. */
export async function query(document, variables = {}) {
  let response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      },
      body: JSON.stringify({ query: document, variables }),
    });
  } catch (error) {
    throw new ApiError(`cannot reach the API: ${error.message}`, 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the API answered HTTP ${response.status} without JSON`, `HTTP_${response.status}`);
  }
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const [first] = body.errors;
    throw new ApiError(first.message ?? 'unknown error', first.extensions?.code ?? 'UNKNOWN');
  }
  if (!response.ok || body.data == null) {
    throw new ApiError(`the API answered HTTP ${response.status} with no data`, `HTTP_${response.status}`);
  }
  return body.data;
}

/** The WebSocket URL of the same endpoint. */
export function subscriptionUrl() {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
