"""HTTP and WebSocket transport: routes, auth, schemas, errors. Calls domain code only."""
