// A real REST server for Pacer's connector tests: json-server 0.17 (npm),
// serving a JSON file as an ERP's API. Its filters are what such APIs
// really do: `updated_at_gte=` includes the boundary record, `_sort` and
// `_order` order the answer, `_page` and `_limit` cut it into pages with
// `Link: <…>; rel="next"` headers. Writes (POST, PATCH) change records, as
// users of the ERP would. It listens on 127.0.0.1, on a free port it prints
// first:  listening on http://127.0.0.1:PORT
// Usage: node server.js DB.json
const jsonServer = require("json-server");

const db = process.argv[2];
if (!db) {
  console.error("usage: node server.js DB.json");
  process.exit(2);
}
const server = jsonServer.create();
server.use(jsonServer.defaults({ logger: false }));
server.use(jsonServer.router(db));
const listener = server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${listener.address().port}`);
});
