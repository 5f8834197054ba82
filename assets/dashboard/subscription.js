// A small client of the graphql-transport-ws protocol, enough for one
// subscription: connection_init, wait for connection_ack, subscribe, then
// next / error / complete, answering the server's pings. On a dropped
// connection it tries again after a pause that doubles up to 30 seconds.
// The protocol: https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md

const PROTOCOL = 'graphql-transport-ws';

/**
 * Subscribes to `document` at `url`. `handlers` has `next(data)`,
 * `error(message)` and `status(text)`. Returns a function that stops it.
 */
export function subscribe(url, document, handlers) {
  let socket;
  let stopped = false;
  let delay = 1_000;
  let retry;

  function connect() {
    handlers.status('Connecting…');
    socket = new WebSocket(url, PROTOCOL);
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        handlers.error('the server sent a message that is not JSON');
        return;
      }
      switch (message.type) {
        case 'connection_ack':
          delay = 1_000;
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: document } }));
          handlers.status('Live: new, changed and deleted shipments appear here as they happen.');
          break;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'next':
          if (message.payload?.errors?.length) {
            handlers.error(message.payload.errors[0].message);
          } else if (message.payload?.data) {
            handlers.next(message.payload.data);
          }
          break;
        case 'error':
          handlers.error(message.payload?.[0]?.message ?? 'the subscription failed');
          handlers.status('The subscription was refused.');
          break;
        case 'complete':
          handlers.status('The server ended the subscription.');
          break;
        default:
          break;
      }
    });
    socket.addEventListener('close', (event) => {
      if (stopped) return;
      handlers.status(`Disconnected (${event.code}); trying again in ${delay / 1000} s…`);
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30_000);
    });
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    socket?.close(1000);
  };
}
