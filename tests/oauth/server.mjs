// A real OAuth2 server for Pacer's auth tests: oauth2-mock-server (npm),
// issuing RS256-signed JWTs for the client credentials grant, and beside it
// an API that accepts a request only with a token that server signed and
// that has not expired, verified with jose against the server's keys.
// Both listen on 127.0.0.1, on free ports printed first:
//   oauth http://127.0.0.1:P api http://127.0.0.1:Q
// The client is `pacer` with secret OAUTH_SECRET (default s3cret); tokens
// live TOKEN_TTL seconds (default 3600). The API's routes:
//   PUT /prices/:sku   accepted with a valid token, else 401
//   POST /_revoke      every token issued so far is refused from now on
//   GET /_stats        {"issued": n, "accepted": n, "refused": n}
import { createServer } from "node:http";
import { OAuth2Server } from "oauth2-mock-server";
import { createLocalJWKSet, jwtVerify } from "jose";

const SECRET = process.env.OAUTH_SECRET ?? "s3cret";
const TTL = Number(process.env.TOKEN_TTL ?? "3600");
const stats = { issued: 0, accepted: 0, refused: 0 };
let revokedBefore = 0;

const oauth = new OAuth2Server();
await oauth.issuer.keys.generate("RS256");
oauth.service.on("beforeTokenSigning", (token) => {
  const now = Math.floor(Date.now() / 1000);
  token.payload.exp = now + TTL;
  // Milliseconds, so a revocation can tell tokens of one second apart.
  token.payload.issued_ms = Date.now();
});
oauth.service.on("beforeResponse", (response, req) => {
  const expected = "Basic " + Buffer.from(`pacer:${SECRET}`).toString("base64");
  if (req.headers.authorization !== expected) {
    response.statusCode = 401;
    response.body = { error: "invalid_client" };
    return;
  }
  stats.issued += 1;
  response.body.expires_in = TTL;
});
await oauth.start(0, "127.0.0.1");
const keys = createLocalJWKSet({ keys: oauth.issuer.keys.toJSON() });

const api = createServer(async (req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.method === "GET" && req.url === "/_stats") return send(200, stats);
  if (req.method === "POST" && req.url === "/_revoke") {
    revokedBefore = Date.now();
    return send(200, {});
  }
  const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: oauth.issuer.url });
    if (payload.issued_ms <= revokedBefore) throw new Error("revoked");
  } catch (e) {
    stats.refused += 1;
    return send(401, { error: "invalid_token", detail: String(e.message) });
  }
  for await (const _ of req);
  stats.accepted += 1;
  send(200, { ok: true });
});
api.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${oauth.address().port}`;
  console.log(`oauth ${issuer} api http://127.0.0.1:${api.address().port}`);
});
